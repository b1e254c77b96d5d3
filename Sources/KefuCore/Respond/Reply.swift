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
    /// The code to come back to this case with, for the channel to tell the customer at
    /// handoff. Kept out of `lines` so it never reaches the transcript, the ticket or the log.
    public var resumeCode: ResumeCode?

    public var text: String { lines.joined(separator: "\n") }
}
