/// What the bot does with a message.
public enum Route: String, Sendable, Codable, CaseIterable {
    /// Answer with the matched entry.
    case answer
    /// Unsure between a few entries: offer them as numbered choices.
    case clarify
    /// Out of scope or too unsure: say so honestly and suggest what the bot can do.
    case fallback
    /// A person should take over.
    case handoff
}

/// Why a conversation went to a person. The raw values are the codes in tickets and reports.
public enum HandoffReason: String, Sendable, Codable, CaseIterable {
    case requested, complaint, emotion, threat, safety, money
    case repeatedFailure = "repeated_failure"
    case notHelped = "not_helped"

    /// Queue priority: danger and money first, then threats and high emotion, then the rest.
    public var priority: Int {
        switch self {
        case .safety, .money: 3
        case .threat, .emotion: 2
        case .complaint: 1
        case .requested, .repeatedFailure, .notHelped: 0
        }
    }

    /// Which reason a ticket shows when the customer gives a second one while waiting: within
    /// one queue priority a threat (regulator, court, media) says more than anger alone.
    public var severity: Int {
        switch self {
        case .safety: 7
        case .money: 6
        case .threat: 5
        case .emotion: 4
        case .complaint: 3
        case .notHelped: 2
        case .repeatedFailure: 1
        case .requested: 0
        }
    }
}

/// The numbers that turn probabilities into routes. Stored in `Intents/thresholds.txt`.
public struct Thresholds: Sendable, Equatable {
    /// Answer when the top entry's probability reaches this (an entry may set its own).
    public var answer: Float = 0.5
    /// From this up, a question is answered with its closest entry and the runner-up named,
    /// instead of a menu, when the entry is below `answer` or another topic is within the
    /// margin: a customer answered wrongly says 「不是」 and gets the runner-up, where a menu
    /// costs every customer a turn. On the development files (A, C, D, E) the top entry was
    /// right 72% of the time in 0.30–0.40 and 73% in 0.40–0.50; on A, C–G, of the routine
    /// questions that got a menu, the top topic was right in 72% at 0.20–0.30 and 66% within
    /// the margin, and answering them (with `lean_answer` at the floor, 0.2) passed 973 → 982
    /// of 1056 conversations. The same as `answer` turns it off.
    public var leanAnswer: Float = 0.5
    /// Below this the message is out of scope: fall back.
    public var floor: Float = 0.2
    /// Offer choices when the top two entries of different topics are closer than this.
    public var margin: Float = 0.15
    /// Fall back when less than this share of the message's n-grams occur anywhere in the
    /// knowledge base: one familiar character (吗 in 「明天会下雪吗」) is no evidence.
    /// On the shipped knowledge base 99% of in-scope messages have a share of 0.32 or more.
    public var coverage: Float = 0.2
    /// Hand off when the emotion reaches this level.
    public var emotionHandoff: EmotionLevel = .high
    /// Hand off when the learned handoff model gives a reason at least this probability
    /// (and the message is not calm by at least as much).
    public var handoffModel: Float = 0.6
    /// When the bot has no answer (it would fall back), hand off already when the model's
    /// likeliest reason reaches this probability and outweighs calm: a customer the bot cannot
    /// help who leans towards needing a person is better served by one than by a fallback.
    public var handoffUnanswered: Float = 0.5
    /// Hand off for safety when the model gives safety this probability: lower than the
    /// others, because a missed danger costs more than a person reading a calm message.
    public var safetyModel: Float = 0.35
    /// When the model gives "calm" at least this probability, the lexicon's money, threat and
    /// anger cues and the handoff topics do not hand off (danger always does).
    public var calmVeto: Float = 0.85
    /// The model's anger (emotion + threat) raises the emotion level only from this
    /// probability. Measured on SMP2020-EWECT valid (angry vs rest, level ≥ upset): from 0,
    /// precision 0.46 / recall 0.57 / F1 0.51; from 0.6, 0.52 / 0.48 / 0.50 (SnowNLP 0.38 /
    /// 0.64 / 0.48 in the same run, `Benchmarks/compare-snownlp.sh`); the blind development
    /// file's handoffs did not change.
    public var angerModel: Float = 0.6
    public init() {}
}
