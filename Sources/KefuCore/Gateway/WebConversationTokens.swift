/// Conversation tokens for browsers on the HTTP channel.
///
/// A browser has no secret of its own, so the server gives each new conversation a random id
/// and a token that opens that conversation and no other: the id with an HMAC-SHA256 of it
/// under the server's web secret. Nothing is stored per token — the server recomputes the
/// HMAC to check one — so tokens cost no memory and survive a restart, and a token cannot be
/// turned into one for another id without the secret.
struct WebConversationTokens: Sendable {
    private let key: [UInt8]

    /// `secret`: the data folder's `web-secret` (or `$KEFU_WEB_SECRET`).
    init(secret: String) {
        key = Array(secret.utf8)
    }

    /// A new conversation id (128 random bits, in hex) and its token.
    func issue() -> (conversation: String, token: String) {
        let conversation = SecureRandom.hex(bytes: 16)
        return (conversation, token(for: conversation))
    }

    func token(for conversation: String) -> String {
        conversation + "." + Hex.encode(code(for: conversation))
    }

    /// The conversation `token` opens, or nil when it is not one of this server's tokens.
    func conversation(openedBy token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 32, parts[0].allSatisfy(\.isHexDigit),
              let given = Hex.decode(parts[1]) else { return nil }
        let conversation = String(parts[0])
        return constantTimeEqual(given, code(for: conversation)) ? conversation : nil
    }

    private func code(for conversation: String) -> [UInt8] {
        HMACSHA256.authenticationCode(for: Array(("kefu web conversation " + conversation).utf8), key: key)
    }
}
