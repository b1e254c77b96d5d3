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

    /// Logit added per unit of keyword weight. A weight of 1 multiplies the odds by e.
    static let boostScale: Float = 1
    static let blocked: Float = -40

    public func understand(_ text: String) -> Understanding {
        understand(classifier.normalizer.normalize(text))
    }

    public func understand(_ normalized: NormalizedText) -> Understanding {
        var adjustments = [Float](repeating: 0, count: entries.count)
        var notes = [[String]](repeating: [], count: entries.count)
        let s = normalized.scalars
        for (c, classLabel) in classifier.labels.enumerated() {
            let e = entries[entryIndex[classLabel]!]
            for k in e.boost where KeywordMatcher.occurs(k, in: s) {
                adjustments[c] += k.weight * Self.boostScale
                notes[c].append("\(k.text) +\(fmt(k.weight))")
            }
            if !e.require.isEmpty && !e.require.contains(where: { KeywordMatcher.occurs($0, in: s) }) {
                adjustments[c] += Self.blocked
                notes[c].append("required keyword missing")
            }
            for k in e.exclude where KeywordMatcher.occurs(k, in: s) {
                adjustments[c] += Self.blocked
                notes[c].append("\(k.text) excluded")
            }
        }
        let ranking = classifier.rank(normalized, logitAdjustments: adjustments)
        let candidates = ranking.classes.prefix(5).map { scored -> Candidate in
            let index = entryIndex[classifier.labels[scored.classIndex]]!
            return Candidate(entryIndex: index, entryID: entries[index].id, topic: entries[index].topic,
                             probability: scored.probability, keywords: notes[scored.classIndex])
        }
        return Understanding(normalized: normalized, candidates: Array(candidates), emotion: emotion.read(normalized), ranking: ranking)
    }

    /// The n-grams that pushed `candidate` up, for explanations.
    public func contributions(_ u: Understanding, for candidate: Candidate, limit: Int = 8) -> [(feature: String, weight: Float)] {
        guard let classIndex = classifier.labels.firstIndex(of: candidate.entryID) else { return [] }
        return classifier.contributions(of: u.ranking, to: classIndex, limit: limit)
    }

    public func route(_ u: Understanding) -> RouteDecision { Router.decide(u, in: self) }
}
