import Foundation

/// Where a handed-off case stands.
public enum TicketState: String, Sendable, Codable {
    case waiting, claimed, resolved
}

/// One line of a conversation: who said what, when. `from` is `customer`, `bot` or `agent:NAME`.
public struct TranscriptLine: Sendable, Codable, Equatable {
    public let time: Date
    public let from: String
    public let text: String
}

/// What the bot understood of one customer message, kept so an agent sees it too.
public struct TurnRecord: Sendable, Codable, Equatable {
    public struct Scored: Sendable, Codable, Equatable {
        public let entry: String
        public let topic: String
        public let confidence: Double
    }
    public let time: Date
    public let topic: String
    public let confidence: Double
    public let candidates: [Scored]
    public let emotionScore: Double
    public let emotionLevel: String
    public let route: String
}

/// Something that happened to a ticket: claimed, noted, transferred …
public struct TicketHistoryEntry: Sendable, Codable, Equatable {
    public let time: Date
    public let action: String
    public let agent: String?
    public let note: String?
}

/// A case handed to a person, with everything they need so the customer never repeats themselves.
public struct Ticket: Sendable, Codable, Equatable {
    /// The number the customer was told, such as `T000042`.
    public let id: String
    public let conversation: String
    public let customer: String
    public let channel: String
    public let created: Date
    /// Why the case is with a person: the reason it was opened for, or the more urgent one the
    /// customer gave while waiting (anger that turns into a threat, danger).
    public var reason: HandoffReason
    /// Raised when the customer's situation becomes more urgent while they wait (danger).
    public var priority: Int
    public let topic: String
    /// One paragraph for the agent; phone, ID and card numbers masked.
    public var summary: String
    public var facts: [String]
    public var transcript: [TranscriptLine]
    public var turns: [TurnRecord]
    public var state: TicketState
    public var assignee: String?
    public var claimedAt: Date?
    public var resolvedAt: Date?
    public var history: [TicketHistoryEntry]
    /// How long the customer waited for a person: until the first claim, or until the ticket
    /// was closed unclaimed; a ticket still waiting keeps counting up to `now`.
    public func waited(now: Date) -> TimeInterval {
        max(0, (claimedAt ?? resolvedAt ?? now).timeIntervalSince(created))
    }

    /// How many agent replies the customer has been shown.
    public var deliveredReplies: Int
    public var rating: Int?
    /// SHA-256 of the resume code the customer was told at handoff (see `ResumeCode`); nil
    /// when the channel proves who the customer is without one.
    public var resumeHash: String?

    /// How long after a person resolved a case the customer's return still belongs to it:
    /// they are asked to rate it, and its resume code still works.
    public static let followUpWindow: TimeInterval = 7 * 86400

    public var agentReplies: [TranscriptLine] { transcript.filter { $0.from.hasPrefix("agent:") } }
    public var isOpen: Bool { state != .resolved }
}

/// What the dialogue knows when it decides to hand off; the store turns it into a ticket.
extension Ticket {
    /// A new ticket from what the dialogue collected, waiting for a person; `id` is the
    /// queue's to give (the journal's next number, or Redis's counter).
    init(opening draft: TicketDraft, id: String, at now: Date) {
        self.init(id: id, conversation: draft.conversation, customer: draft.customer, channel: draft.channel,
                  created: now, reason: draft.reason, priority: draft.reason.priority, topic: draft.topic,
                  summary: draft.summary, facts: draft.facts, transcript: draft.transcript, turns: draft.turns,
                  state: .waiting, assignee: nil, claimedAt: nil, resolvedAt: nil,
                  history: [TicketHistoryEntry(time: now, action: "opened", agent: nil, note: draft.reason.rawValue)],
                  deliveredReplies: 0, rating: nil, resumeHash: draft.resumeHash)
    }
}

public struct TicketDraft: Sendable {
    public let conversation: String
    public let customer: String
    public let channel: String
    public let reason: HandoffReason
    public let topic: String
    public let summary: String
    public let facts: [String]
    public let transcript: [TranscriptLine]
    public let turns: [TurnRecord]
    /// See `Ticket.resumeHash`.
    public var resumeHash: String? = nil
}

/// Why an agent action was refused, in words for the agent.
public enum TicketError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknown(String)
    case claimedByOther(String, agent: String)
    case alreadyResolved(String)
    case notClaimed(String)
    /// Transfer or release of a ticket another agent holds, by someone who is not a supervisor.
    case heldByOther(String, agent: String)
    case invalidRating(Int)

    public var description: String {
        switch self {
        case .unknown(let id): "no ticket '\(id)'; run `kefu agent list` to see the open ones"
        case .claimedByOther(let id, let agent): "ticket \(id) is already claimed by \(agent); ask them to release or transfer it"
        case .alreadyResolved(let id): "ticket \(id) is already resolved"
        case .notClaimed(let id): "ticket \(id) is not claimed; claim it first with `kefu agent claim \(id) --as NAME`"
        case .heldByOther(let id, let agent): "ticket \(id) is held by \(agent); only they or a supervisor may transfer or release it"
        case .invalidRating(let n): "a rating is 1 to 5, not \(n)"
        }
    }
}
