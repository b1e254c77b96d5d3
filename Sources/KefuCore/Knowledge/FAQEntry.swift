/// One FAQ entry as an editor wrote it: the questions customers ask and the answers.
public struct FAQEntry: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public let text: String
        public let line: Int
    }
    public struct Keyword: Sendable, Equatable {
        public let word: String
        public let weight: Float
        public let line: Int
    }

    public var id: String
    public var topic: String
    public var file: String
    /// The line of `id:`, where problems with the entry as a whole are reported.
    public var line: Int
    public var questions: [Line] = []
    public var answers: [Line] = []
    /// Answers in English for English-speaking customers (`## Answers (en)`); optional.
    public var englishAnswers: [Line] = []
    /// Short answers to the usual next questions about this entry (`## Follow-ups`):
    /// 「要多久」「收费吗」「带什么」 after the answer, each with the words that ask it.
    public var followUps: [FollowUp] = []

    /// `- 多久, 几天, how long: 一般 7 个工作日寄到。 | en: It usually arrives within 7 working days.`:
    /// cues, then the answer, then (optionally) the answer for English customers.
    public struct FollowUp: Sendable, Equatable {
        public let cues: [String]
        public let answer: String
        public var englishAnswer: String? = nil
        public let line: Int

        public init(cues: [String], answer: String, englishAnswer: String? = nil, line: Int) {
            self.cues = cues
            self.answer = answer
            self.englishAnswer = englishAnswer
            self.line = line
        }
    }
    public var related: [String] = []
    public var boost: [Keyword] = []
    public var require: [Keyword] = []
    public var exclude: [Keyword] = []
    /// The entry's own answer threshold, overriding the knowledge base default.
    public var threshold: Float?
    /// Answering this entry always hands the customer to a person.
    public var alwaysHandOff = false
    /// The reason of that handoff when the entry names one (`handoff: money`): a question
    /// that says a loss happened (「缴费钱扣了没到账」) inside a topic the bot answers. Nil: the
    /// topic's reason. Its phrasings teach the handoff model this reason instead of calm.
    public var handoffReason: HandoffReason?
    /// Drafts are ignored until an editor removes the mark.
    public var isDraft = false
    /// Line of each front-matter key, for reporting.
    public var keyLines: [String: Int] = [:]
}
