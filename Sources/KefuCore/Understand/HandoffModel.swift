/// What the learned handoff model makes of a message: how likely each kind of handoff is,
/// and how likely the message is calm.
public struct HandoffReading: Sendable, Equatable {
    /// Probability per label (`calm`, `requested`, `complaint`, `emotion`, `threat`,
    /// `safety`, `money`), summing to 1.
    public let probabilities: [String: Float]

    public func probability(_ label: String) -> Float { probabilities[label] ?? 0 }
    /// 1 − P(calm): how likely a person should take over, whatever the reason.
    public var urgency: Float { 1 - probability(HandoffModel.calmLabel) }
    /// Anger in the sense of "upset enough to be angry": emotion or threat.
    public var anger: Float { probability(HandoffReason.emotion.rawValue) + probability(HandoffReason.threat.rawValue) }

    /// The most likely handoff reason (never calm) and its probability.
    public var likeliestReason: (reason: HandoffReason, probability: Float)? {
        // The highest probability, ties to the smaller label; one pass, no filtered copy of
        // the dictionary (the router asks for this on every message).
        var best: (key: String, value: Float)?
        for entry in probabilities where entry.key != HandoffModel.calmLabel {
            if let b = best, b.value != entry.value ? !(b.value < entry.value) : !(b.key > entry.key) { continue }
            best = entry
        }
        return best.flatMap { entry in HandoffReason(rawValue: entry.key).map { ($0, entry.value) } }
    }
}

/// A classifier of whole customer messages into "calm" and the reasons a person must take
/// over, beside the emotion lexicon: the lexicon knows precise cues, negation and intensity;
/// the model knows the many ways of saying "fifth call", 「呵呵真是好服务」, "I can't go on",
/// which no list of cues anticipates.
///
/// Trained when the knowledge base is compiled, deterministically (the same seeded trainer and
/// character/word n-grams as the intent classifier), from the labelled messages editors keep
/// in `Intents/handoff/<label>.txt`: one file per label, calm look-alikes included.
public struct HandoffModel: Sendable {
    public static let calmLabel = "calm"
    /// The file names `Intents/handoff/` may hold.
    public static let labels = [calmLabel] + [HandoffReason.requested, .complaint, .emotion, .threat, .safety, .money].map(\.rawValue)

    let classifier: IntentClassifier

    /// Chinese 1–3-grams (the intent classifier uses 1–2): measured on the blind development
    /// file, the shipped eval file and SMP2020-EWECT valid (angry vs rest), 1–3 kept the most
    /// must-hand-off messages (197/207) and the best F1 on EWECT (0.51 against 0.50); 2–3
    /// without single characters lost 8 must-hand-off messages.
    static var features: FeatureSettings {
        var f = FeatureSettings.knowledgeBase
        f.ideographNGrams = 1...3
        return f
    }

    public static func train(_ examples: [LabelledText], normalizer: TextNormalizer) -> HandoffModel? {
        guard Set(examples.map(\.label)).count >= 2 else { return nil }
        return HandoffModel(classifier: IntentClassifier.train(examples, normalizer: normalizer, features: features))
    }

    /// Below this much text (Chinese characters, two per Latin word) the reading is pulled
    /// toward calm in proportion: a few characters are too little evidence for a model of
    /// whole messages (「那礼拜天呢」 read as anger from 礼拜 and 呢), and the lexicon still
    /// knows the short cues (「气死」「转人工」). 10 lost no must-hand-off message of the blind
    /// development file or the shipped eval file against no pull at all.
    static let fullEvidence: Float = 10

    public func read(_ normalized: NormalizedText) -> HandoffReading {
        let ranking = classifier.rank(normalized)
        let weight = min(1, Self.evidence(normalized) / Self.fullEvidence)
        var probabilities: [String: Float] = [:]
        probabilities.reserveCapacity(classifier.labels.count)  // no growing, a fifth of this reading's cost
        for (i, label) in classifier.labels.enumerated() {
            let p = ranking.probabilities[i] * weight
            probabilities[label] = label == Self.calmLabel ? p + (1 - weight) : p
        }
        return HandoffReading(probabilities: probabilities)
    }

    /// Chinese characters plus two per Latin word.
    static func evidence(_ n: NormalizedText) -> Float {
        var count: Float = 0
        var inWord = false
        for s in n.scalars {
            switch CharacterClass.of(s) {
            case .ideograph: count += 1; inWord = false
            case .separator: inWord = false
            default:
                if !inWord { count += 2 }
                inWord = true
            }
        }
        return count
    }

    /// The n-grams that pushed `label` up in `normalized`, largest first, for `kefu explain`.
    public func contributions(_ normalized: NormalizedText, to label: String, limit: Int = 6) -> [(feature: String, weight: Float)] {
        guard let index = classifier.labels.firstIndex(of: label) else { return [] }
        return classifier.contributions(of: classifier.rank(normalized), to: index, limit: limit)
    }
}
