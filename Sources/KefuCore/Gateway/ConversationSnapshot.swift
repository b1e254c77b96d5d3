import Foundation

/// A `ConversationState` as bytes on disk, for a conversation the gateway moved out of memory
/// (`ConversationStore`). It carries every field, so a customer who comes back finds the
/// conversation exactly where it was: the choices offered, the question awaiting a yes or no,
/// the language, the answers already given.
///
/// `ConversationState` is the dialogue's type and changes with it; `fields` lists the fields
/// this snapshot knows, and a test fails when the state gains one the snapshot does not carry.
struct ConversationSnapshot: Codable {
    /// The `ConversationState` fields carried, by name (checked against the type by a test).
    static let fields: Set<String> = ["id", "customer", "channel", "started", "stage", "greeted", "misunderstandings", "lastCandidates",
                                      "tried", "answered", "transcript", "turns", "facts", "ticket", "topic", "askedForFacts",
                                      "ratingAsked", "ratingReminded", "awaiting", "lastQuestion", "language", "turnCount", "awayNoticeGiven",
                                      "offersResume", "dangerStated"]

    /// `ConversationStage` flattened: the case name and its one payload.
    struct Stage: Codable {
        var name: String
        var entries: [String]?
        var reason: String?
        var ticket: String?
    }

    /// A candidate without its keyword notes; its index is looked up again on restore, since
    /// the knowledge base may have been reloaded meanwhile.
    struct Scored: Codable {
        var entry: String
        var topic: String
        var probability: Float
    }

    var id, customer, channel: String
    var started: Date
    var stage: Stage
    var greeted: Bool
    var misunderstandings: Int
    var lastCandidates: [Scored]
    var tried, answered: [String]
    var transcript: [TranscriptLine]
    var turns: [TurnRecord]
    var facts: [String]
    var ticket, topic: String?
    var askedForFacts, ratingAsked: Bool
    var ratingReminded: Bool?
    var awaiting: String?
    var lastQuestion: String?
    var language: String
    var turnCount: Int
    var awayNoticeGiven, offersResume: Bool
    /// Optional: snapshots written before the field existed read as false.
    var dangerStated: Bool?

    init(_ s: ConversationState) {
        id = s.id
        customer = s.customer
        channel = s.channel
        started = s.started
        stage = switch s.stage {
        case .open: Stage(name: "open")
        case .choosing(let entries): Stage(name: "choosing", entries: entries)
        case .offeringPerson(let reason): Stage(name: "offeringPerson", reason: reason.rawValue)
        case .withPerson(let ticket): Stage(name: "withPerson", ticket: ticket)
        case .rating(let ticket): Stage(name: "rating", ticket: ticket)
        case .closed: Stage(name: "closed")
        }
        greeted = s.greeted
        misunderstandings = s.misunderstandings
        lastCandidates = s.lastCandidates.map { Scored(entry: $0.entryID, topic: $0.topic, probability: $0.probability) }
        tried = s.tried
        answered = s.answered
        transcript = s.transcript
        turns = s.turns
        facts = s.facts
        ticket = s.ticket
        topic = s.topic
        askedForFacts = s.askedForFacts
        ratingAsked = s.ratingAsked
        ratingReminded = s.ratingReminded
        awaiting = switch s.awaiting {
        case .confirmation: "confirmation"
        case .anythingElse: "anythingElse"
        case .details: "details"
        case nil: nil
        }
        lastQuestion = s.lastQuestion
        language = s.language.rawValue
        turnCount = s.turnCount
        awayNoticeGiven = s.awayNoticeGiven
        offersResume = s.offersResume
        dangerStated = s.dangerStated
    }

    /// The conversation again, its candidates found in `kb` (those no longer there are dropped).
    func state(kb: KnowledgeBase) -> ConversationState {
        var s = ConversationState(customer: customer, channel: channel, started: started, id: id)
        let reason = { (raw: String?) in raw.flatMap(HandoffReason.init(rawValue:)) ?? .requested }
        s.stage = switch stage.name {
        case "choosing": .choosing(stage.entries ?? [])
        case "offeringPerson": .offeringPerson(reason(stage.reason))
        case "withPerson": stage.ticket.map { .withPerson($0) } ?? .open
        case "rating": .rating(ticket: stage.ticket)
        case "closed": .closed
        default: .open
        }
        s.greeted = greeted
        s.misunderstandings = misunderstandings
        s.lastCandidates = lastCandidates.compactMap { c in
            kb.entryIndex[c.entry].map { Candidate(entryIndex: $0, entryID: c.entry, topic: c.topic, probability: c.probability, keywordEffects: []) }
        }
        s.tried = tried
        s.answered = answered
        s.transcript = transcript
        s.turns = turns
        s.facts = facts
        s.ticket = ticket
        s.topic = topic
        s.askedForFacts = askedForFacts
        s.ratingAsked = ratingAsked
        s.ratingReminded = ratingReminded ?? false
        s.awaiting = switch awaiting {
        case "confirmation": .confirmation
        case "anythingElse": .anythingElse
        case "details": .details
        default: nil
        }
        s.lastQuestion = lastQuestion
        s.language = TextLanguage(rawValue: language) ?? .zh
        s.turnCount = turnCount
        s.awayNoticeGiven = awayNoticeGiven
        s.offersResume = offersResume
        s.dangerStated = dangerStated ?? false
        return s
    }
}

extension ConversationState {
    /// Keeps what the dialogue still reads and drops the rest of the transcript: the first
    /// customer line (the agent's summary quotes it) and the last `lines` lines (the ticket
    /// shows them; the summary quotes the latest). Every customer message is also in the event
    /// log, and once a person has the case every line is in the ticket, so nothing is lost.
    /// A marker says how many lines were left out, so the agent knows the gap is there.
    mutating func trimTranscript(keeping lines: Int) {
        if turns.count > lines { turns.removeFirst(turns.count - lines) }
        guard transcript.count > lines + 2 else { return }
        let firstIsMarker = transcript.count > 1 && transcript[1].from == Self.omittedFrom
        let earlier = firstIsMarker ? (Int(transcript[1].text.split(separator: " ").first ?? "") ?? 0) : 0
        let head = transcript[0]
        let tail = transcript.suffix(lines)
        let dropped = transcript.count - tail.count - 1 - (firstIsMarker ? 1 : 0) + earlier
        transcript = [head, TranscriptLine(time: tail.first?.time ?? head.time, from: Self.omittedFrom,
                                           text: "\(dropped) earlier lines not kept in memory; the customer's messages are in the event log")] + tail
    }

    /// The `from` of the line that marks where a long transcript was shortened.
    static let omittedFrom = "omitted"
}
