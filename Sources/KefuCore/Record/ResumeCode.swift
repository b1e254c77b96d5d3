/// What a customer on an anonymous channel is told at handoff so that they, and only they,
/// can come back to the case: `/resume CODE` as the first line of a later connection.
///
/// 26 symbols of Crockford's base32 (130 random bits): too many to guess, short enough to
/// copy, and without the letters people misread (I, L, O, U). Only its SHA-256 is kept, in
/// the ticket record, so neither the journal nor an agent's view of the ticket can be used
/// to take over the customer's conversation.
public struct ResumeCode: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public var description: String { text }

    static let length = 26
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    public static func generate() -> ResumeCode {
        ResumeCode(text: String(SecureRandom.bytes(length).map { alphabet[Int($0 & 31)] }))
    }

    /// What the ticket keeps instead of the code.
    public var hash: String { SHA256.hex(Array(text.utf8)) }

    /// The hash of a code as a customer typed it (any case, O for 0, I or L for 1, spaces or
    /// dashes between groups), or nil when it cannot be a code at all.
    public static func hash(typed: String) -> String? {
        var symbols: [Character] = []
        for character in typed.uppercased() where character != "-" && character != " " {
            let symbol: Character = switch character { case "O": "0"; case "I", "L": "1"; default: character }
            guard alphabet.contains(symbol) else { return nil }
            symbols.append(symbol)
        }
        guard symbols.count == length else { return nil }
        return ResumeCode(text: String(symbols)).hash
    }
}
