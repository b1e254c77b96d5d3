/// The engine's name for a customer: conversations, tickets and waiting agent replies are
/// found by it, so whoever holds a key holds the customer's case.
///
/// Every key the gateway makes begins with the trust domain it came from, and no client
/// chooses the part before its own name, so a name can never equal a key of another domain
/// or of another connection:
///
/// - `anon:<32 hex>`, or `anon:<32 hex>:<label>` after `/id LABEL`: a plain connection. The
///   random part is new for every connection (128 bits, never counted up, so never the same
///   after a restart); only a resume code brings a customer back to it.
/// - `conn:<32 hex>:<name>`: a customer or session named on a JSON Lines connection that has
///   not authenticated; the random part is that connection's.
/// - `int:<name>`: a customer named by an authenticated integration, which vouches for it.
/// - `web:<32 hex>`: a browser's conversation on the HTTP channel; the id is random and
///   server-made, and only its conversation token opens it.
///
/// Names typed into `kefu chat --customer` have no prefix: that tool runs with the data
/// folder's own permissions, and nothing a network client sends reaches those names.
enum CustomerKey {
    static func anonymous(label: String?) -> String {
        "anon:" + SecureRandom.hex(bytes: 16) + (label.map { ":" + $0 } ?? "")
    }

    static func scoped(to scope: String, name: String) -> String { "conn:\(scope):\(name)" }

    static func integration(_ name: String) -> String { "int:" + name }

    /// A browser's conversation on the HTTP channel: the id is the server's own random one,
    /// which only the conversation token (`WebConversationTokens`) opens.
    static func web(conversation: String) -> String { "web:" + conversation }

    /// A new random scope for one unauthenticated JSON Lines connection.
    static func newScope() -> String { SecureRandom.hex(bytes: 16) }

    /// Whether only a resume code can bring this customer back, so a handoff gives them one.
    static func needsResumeCode(_ key: String) -> Bool { key.hasPrefix("anon:") || key.hasPrefix("conn:") }
}

/// A customer or session id as a client gives it (`/id NAME`, JSON `customer` and `session`):
/// it is echoed to the client, listed to agents and written to the journal, so it is short
/// and printable.
enum CustomerID {
    static let maxLength = 64

    enum Problem: Equatable {
        case empty, tooLong, unprintable
    }

    /// Why `id` cannot be used, or nil when it can. Length is counted in Unicode scalars, so
    /// combining marks cannot make a 64-character id arbitrarily long.
    static func problem(_ id: String) -> Problem? {
        if id.isEmpty { return .empty }
        if id.unicodeScalars.count > maxLength { return .tooLong }
        // Control characters, line breaks, bidirectional overrides and zero-width characters
        // would let an id rewrite a log line or disguise itself in the agent's list.
        let unprintable: Set<Unicode.GeneralCategory> = [.control, .format, .lineSeparator, .paragraphSeparator,
                                                          .surrogate, .privateUse, .unassigned]
        if id.unicodeScalars.contains(where: { unprintable.contains($0.properties.generalCategory) }) { return .unprintable }
        return nil
    }
}
