/// What the bot says to one customer message, and what it decided.
public struct Reply: Sendable {
    /// The reply block: one or more lines.
    public var lines: [String]
    public var route: Route?
    public var topic: String?
    public var reason: HandoffReason?
    /// The ticket opened by this message, if any.
    public var ticket: Ticket?
    /// Why, for logs and explanations.
    public var rule: String?

    public var text: String { lines.joined(separator: "\n") }
}
