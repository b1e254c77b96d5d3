/// What the bot says to one customer message, and what it decided.
public struct Reply: Sendable {
    /// What the bot itself says: one or more lines, or none when it stays quiet (a person
    /// is talking with the customer).
    public var lines: [String]
    /// An agent's messages delivered with this reply (`[人工客服 张三] …`), shown before the
    /// bot's own lines; kept apart so that "the bot said nothing" stays visible.
    public var relayed: [String] = []
    public var route: Route?
    public var topic: String?
    public var reason: HandoffReason?
    /// The ticket opened by this message, if any.
    public var ticket: Ticket?
    /// The customer's waiting ticket when this message would have handed off on its own
    /// (anger, a threat while queued): no new ticket, but it moves up (its reason raised when
    /// the new one is more urgent) and agents see it again.
    public var raised: Ticket?
    /// Why, for logs and explanations.
    public var rule: String?
    /// The code to come back to this case with, for the channel to tell the customer at
    /// handoff. Kept out of `lines` so it never reaches the transcript, the ticket or the log.
    public var resumeCode: ResumeCode?
    /// The FAQ entry answered, if any.
    public var entry: String?
    /// The dialogue acts the message was read as (「好的」 → acknowledge), if any.
    public var acts: [DialogueAct] = []
    /// How upset the customer's message read.
    public var emotion: EmotionLevel?

    /// Everything the customer sees, relayed lines first.
    public var shown: [String] { relayed + lines }
    public var text: String { shown.joined(separator: "\n") }
}
