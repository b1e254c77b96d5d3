/// An FAQ entry compiled for matching: its keywords normalised like messages.
public struct CompiledEntry: Sendable {
    public let entry: FAQEntry
    let boost: [KeywordMatcher.Keyword]
    let require: [KeywordMatcher.Keyword]
    let exclude: [KeywordMatcher.Keyword]

    public var id: String { entry.id }
    public var topic: String { entry.topic }
    public var threshold: Float? { entry.threshold }
    public var alwaysHandOff: Bool { entry.alwaysHandOff }
    /// The answers with company values filled in, once, at compile time.
    public let filledAnswers: [String]

    init(entry: FAQEntry, boost: [KeywordMatcher.Keyword], require: [KeywordMatcher.Keyword], exclude: [KeywordMatcher.Keyword],
         filledAnswers: [String]? = nil) {
        self.entry = entry
        self.boost = boost
        self.require = require
        self.exclude = exclude
        self.filledAnswers = filledAnswers ?? entry.answers.map(\.text)
    }
}

/// One entry the message may be about, with its probability and the keywords that moved it.
public struct Candidate: Sendable, Equatable {
    public let entryIndex: Int
    public let entryID: String
    public let topic: String
    public let probability: Float
    /// Keywords found in the message, with the effect each had ("+1.0", "required", "excluded").
    public let keywords: [String]
}

/// Everything the understanding stage says about one message.
public struct Understanding: Sendable {
    public let normalized: NormalizedText
    /// The most probable entries, best first (at most five).
    public let candidates: [Candidate]
    public let emotion: EmotionReading
    public let ranking: Ranking

    public var top: Candidate? { candidates.first }
    /// The topic, or `out_of_scope`.
    public var topic: String { top?.topic ?? KnowledgeBase.outOfScopeTopic }
}

/// The compiled, immutable knowledge base: what the bot serves from. A reload compiles a
/// new one and swaps it in whole; a broken edit never replaces a working one.
public struct KnowledgeBase: Sendable {
    public static let outOfScopeTopic = "out_of_scope"

    public let folder: String
    public let entries: [CompiledEntry]
    public let entryIndex: [String: Int]
    public let topics: [String: Topic]
    /// Topic ids in file order.
    public let topicOrder: [String]
    public let company: CompanyProfile
    public let phrases: StandardPhrases
    public let thresholds: Thresholds
    public let classifier: IntentClassifier
    public let emotion: EmotionDetector
    /// Problems that did not stop the build (shown by `kefu lint`).
    public let warnings: [LoadProblem]
    public let compileSeconds: Double

    /// Standard phrases with company values filled in, once, at compile time.
    public let filledPhrases: [String: String]
    /// The entry of each classifier class.
    let entryOfClass: [Int]
    /// Keyword rules of the entries that have any, by class: most entries have none, and
    /// the per-message loop should not visit them.
    let keywordRules: [KeywordRule]

    struct KeywordRule: Sendable {
        let classIndex: Int
        let boost: [KeywordMatcher.Keyword]
        let exclude: [KeywordMatcher.Keyword]
        /// Indices into `allKeywords`.
        let boostIDs: [Int]
        let requireIDs: [Int]
        let excludeIDs: [Int]
    }
    /// Every keyword of every rule, and where each may start.
    let allKeywords: [KeywordMatcher.Keyword]
    let keywordsByFirstScalar: [UInt32: [Int]]

    init(folder: String, entries: [CompiledEntry], entryIndex: [String: Int], topics: [String: Topic], topicOrder: [String],
         company: CompanyProfile, phrases: StandardPhrases, thresholds: Thresholds, classifier: IntentClassifier,
         emotion: EmotionDetector, warnings: [LoadProblem], compileSeconds: Double) {
        self.folder = folder
        self.entries = entries
        self.entryIndex = entryIndex
        self.topics = topics
        self.topicOrder = topicOrder
        self.company = company
        self.phrases = phrases
        self.thresholds = thresholds
        self.classifier = classifier
        self.emotion = emotion
        self.warnings = warnings
        self.compileSeconds = compileSeconds
        filledPhrases = phrases.values.mapValues { company.fill($0) }
        entryOfClass = classifier.labels.map { entryIndex[$0]! }
        var all: [KeywordMatcher.Keyword] = []
        var byFirst: [UInt32: [Int]] = [:]
        func register(_ list: [KeywordMatcher.Keyword]) -> [Int] {
            list.map { keyword in
                all.append(keyword)
                if let first = keyword.scalars.first { byFirst[first, default: []].append(all.count - 1) }
                return all.count - 1
            }
        }
        keywordRules = entryOfClass.enumerated().compactMap { classIndex, entry in
            let e = entries[entry]
            guard !(e.boost.isEmpty && e.require.isEmpty && e.exclude.isEmpty) else { return nil }
            return KeywordRule(classIndex: classIndex, boost: e.boost, exclude: e.exclude,
                               boostIDs: register(e.boost), requireIDs: register(e.require), excludeIDs: register(e.exclude))
        }
        allKeywords = all
        keywordsByFirstScalar = byFirst
    }

    /// Logit added per unit of keyword weight. A weight of 1 multiplies the odds by e.
    static let boostScale: Float = 1
    static let blocked: Float = -40

    public func understand(_ text: String) -> Understanding {
        understand(classifier.normalizer.normalize(text))
    }

    public func understand(_ normalized: NormalizedText) -> Understanding {
        var adjustments: [Float]?
        var notes: [Int: [String]] = [:]
        let s = normalized.scalars
        // Which keywords occur: one pass over the message, looking up keywords by their
        // first character, instead of one scan of the message per keyword.
        var present = Set<Int>()
        for start in s.indices {
            guard let candidates = keywordsByFirstScalar[s[start]] else { continue }
            for k in candidates where !present.contains(k) && KeywordMatcher.occurs(allKeywords[k], in: s, at: start) { present.insert(k) }
        }
        for rule in keywordRules {
            var adjustment: Float = 0
            var found: [String] = []
            for (k, keyword) in zip(rule.boostIDs, rule.boost) where present.contains(k) {
                adjustment += keyword.weight * Self.boostScale
                found.append("\(keyword.text) +\(fmt(keyword.weight))")
            }
            if !rule.requireIDs.isEmpty && !rule.requireIDs.contains(where: present.contains) {
                adjustment += Self.blocked
                found.append("required keyword missing")
            }
            for (k, keyword) in zip(rule.excludeIDs, rule.exclude) where present.contains(k) {
                adjustment += Self.blocked
                found.append("\(keyword.text) excluded")
            }
            guard adjustment != 0 || !found.isEmpty else { continue }
            if adjustments == nil { adjustments = [Float](repeating: 0, count: entries.count) }
            adjustments![rule.classIndex] += adjustment
            notes[rule.classIndex] = found
        }
        let ranking = classifier.rank(normalized, logitAdjustments: adjustments)
        let candidates = ranking.top.map { scored -> Candidate in
            let index = entryOfClass[scored.classIndex]
            return Candidate(entryIndex: index, entryID: entries[index].id, topic: entries[index].topic,
                             probability: scored.probability, keywords: notes[scored.classIndex] ?? [])
        }
        return Understanding(normalized: normalized, candidates: candidates, emotion: emotion.read(normalized), ranking: ranking)
    }

    /// The n-grams that pushed `candidate` up, for explanations.
    public func contributions(_ u: Understanding, for candidate: Candidate, limit: Int = 8) -> [(feature: String, weight: Float)] {
        guard let classIndex = classifier.labels.firstIndex(of: candidate.entryID) else { return [] }
        return classifier.contributions(of: u.ranking, to: classIndex, limit: limit)
    }

    public func route(_ u: Understanding) -> RouteDecision { Router.decide(u, in: self) }
}
