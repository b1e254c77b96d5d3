import Foundation

/// Where a conversation is in the service process, and what the bot is waiting for.
public enum ConversationStage: Sendable, Equatable {
    /// Serving: any message is a new question.
    case open
    /// The bot offered numbered choices (entry ids, in the order shown).
    case choosing([String])
    /// The bot asked whether to bring in a person, for this reason.
    case offeringPerson(HandoffReason)
    /// The case is with a person (ticket id): the bot does not answer over the agent.
    case withPerson(String)
    /// The bot asked for a 1–5 rating (of the ticket, when a person took part).
    case rating(ticket: String?)
    /// Closed: the next message starts a new conversation.
    case closed
}

/// One customer's conversation: passed in and out of `Dialogue.respond`, never global.
public struct ConversationState: Sendable {
    public let id: String
    public let customer: String
    public let channel: String
    public let started: Date
    public var stage: ConversationStage = .open
    public var greeted = false
    /// Messages in a row the bot did not understand.
    public var misunderstandings = 0
    /// Candidates for the last question, for 「没用」: the next one is offered.
    public var lastCandidates: [Candidate] = []
    /// Entries already answered for the current question.
    public var tried: [String] = []
    /// Entries answered in this conversation, for the agent's summary.
    public var answered: [String] = []
    public var transcript: [TranscriptLine] = []
    public var turns: [TurnRecord] = []
    public var facts: [String] = []
    public var ticket: String?
    /// The first topic the customer raised, for the ticket.
    public var topic: String?
    public var askedForFacts = false
    /// Whether the customer has seen the request for a rating in this stage.
    public var ratingAsked = false
    /// Whether the rating question was asked a second time (after 「没有了」 instead of a score).
    public var ratingReminded = false
    /// What the last reply asked, so a bare 「不是」「没有」 can be read: after 「能解决您的问题吗？」
    /// it means not helped, after 「还有其他问题吗？」 it means done.
    public var awaiting: Awaiting?
    /// `details`: a complaint was opened without them and the bot asked what happened.
    public enum Awaiting: Sendable { case confirmation, anythingElse, details }
    /// The customer's words that led to the last answer, for reading a short follow-up.
    public var lastQuestion: String?
    /// The language of the customer's last message with letters in it; replies follow it.
    public var language: TextLanguage = .zh
    /// Customer messages so far, to vary the wording of recurring lines.
    public var turnCount = 0
    /// Whether the customer was told that the agent is still on the case.
    public var awayNoticeGiven = false
    /// Whether the customer has said in so many words that someone is in danger (a safety
    /// cue: 不想活了, 煤气泄漏). A case opened on a softer reading (debts weighing on them) is
    /// raised again when they do; saying it a second time is no news for the agents.
    public var dangerStated = false
    /// Whether a handoff gives the customer a resume code: on a channel where nothing else
    /// proves who they are when they come back (an anonymous connection), it is their only key
    /// to the agent's replies. Local tools and trusted integrations name the customer instead.
    public var offersResume = false

    public init(customer: String, channel: String, started: Date, id: String? = nil) {
        self.customer = customer
        self.channel = channel
        self.started = started
        self.id = id ?? Self.makeID(customer: customer, at: started)
    }

    /// `C` + time + a short random part: unique across processes without coordination.
    static func makeID(customer: String, at date: Date) -> String {
        let millis = Int(date.timeIntervalSince1970 * 1000)
        return "C\(String(millis, radix: 36))\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }
}
