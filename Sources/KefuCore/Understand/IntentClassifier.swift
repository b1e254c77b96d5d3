/// One labelled training example, as read from a JSONL file or an FAQ entry's phrasing.
public struct LabelledText: Sendable, Equatable {
    public var text: String
    public var label: String
    public init(text: String, label: String) {
        self.text = text
        self.label = label
    }
}

/// A class and the probability the model gives it for one message.
public struct ScoredClass: Sendable, Equatable {
    public let classIndex: Int
    public let probability: Float
}

/// The result of reading one message: the normalised text and every class's probability.
public struct Ranking: Sendable {
    public let normalized: NormalizedText
    public let vector: SparseVector
    /// Probability of each class, by class index.
    public let probabilities: [Float]
    /// The most probable classes, best first (ties broken by class index, so results are stable).
    public let top: [ScoredClass]

    /// The share of the message's features the knowledge base has seen before (0…1).
    public var knownFeatureShare: Float {
        vector.featureCount == 0 ? 0 : Float(vector.ids.count) / Float(vector.featureCount)
    }

    /// Every class, best first. Sorting all of them is only needed off the hot path.
    public var allClasses: [ScoredClass] {
        probabilities.indices.map { ScoredClass(classIndex: $0, probability: probabilities[$0]) }.sorted(by: Self.better)
    }

    static func better(_ a: ScoredClass, _ b: ScoredClass) -> Bool {
        a.probability != b.probability ? a.probability > b.probability : a.classIndex < b.classIndex
    }

    /// The best `k` classes by one pass over the probabilities.
    static func best(_ p: [Float], count k: Int) -> [ScoredClass] {
        var top: [ScoredClass] = []
        top.reserveCapacity(k + 1)
        // Once `k` are held, a class must beat the last of them: a probability below the
        // last one's cannot (ties are decided by `better`, as before).
        var floor = -Float.infinity
        for c in p.indices {
            if p[c] < floor { continue }
            let scored = ScoredClass(classIndex: c, probability: p[c])
            if top.count == k, let last = top.last, !better(scored, last) { continue }
            let at = top.firstIndex { better(scored, $0) } ?? top.count
            top.insert(scored, at: at)
            if top.count > k { top.removeLast() }
            if top.count == k { floor = top[k - 1].probability }
        }
        return top
    }
}

/// A compiled character/word n-gram classifier: normalise, vectorise, score.
///
/// Immutable and `Sendable`: a reload builds a new one and swaps it in whole.
public struct IntentClassifier: Sendable {
    public let labels: [String]
    public let normalizer: TextNormalizer
    public let features: FeatureSettings
    public let training: TrainingSettings
    let vectorizer: Vectorizer
    let model: LinearModel

    public var featureCount: Int { model.featureCount }

    /// Trains a classifier. Labels are ordered by first appearance, so the same examples
    /// give the same class indices and the same model.
    public static func train(_ examples: [LabelledText], normalizer: TextNormalizer,
                             features: FeatureSettings = FeatureSettings(),
                             training: TrainingSettings = TrainingSettings()) -> IntentClassifier {
        var labels: [String] = []
        var labelIndex: [String: Int] = [:]
        var targets: [Int] = []
        for example in examples {
            if labelIndex[example.label] == nil {
                labelIndex[example.label] = labels.count
                labels.append(example.label)
            }
            targets.append(labelIndex[example.label]!)
        }
        let texts = examples.map { normalizer.normalize($0.text).scalars }
        let (vectorizer, vectors, latin) = Vectorizer.fit(texts, settings: features)
        let model = LinearModelTrainer.train(vectors, labels: targets, classCount: labels.count,
                                             featureCount: vectorizer.idf.count, droppable: latin, settings: training)
        return IntentClassifier(labels: labels, normalizer: normalizer, features: features, training: training,
                                vectorizer: vectorizer, model: model)
    }

    public func rank(_ text: String) -> Ranking {
        rank(normalizer.normalize(text))
    }

    public func rank(_ normalized: NormalizedText, logitAdjustments: [Float]? = nil) -> Ranking {
        let vector = vectorizer.vector(of: normalized.scalars)
        var z = model.logits(vector)
        if let adjust = logitAdjustments {
            for c in z.indices { z[c] += adjust[c] }
        }
        let p = softmax(z)
        return Ranking(normalized: normalized, vector: vector, probabilities: p, top: Ranking.best(p, count: 5))
    }

    /// The best class only, without sorting every class: the fast path for evaluation.
    public func top(_ text: String) -> (classIndex: Int, probability: Float) {
        let vector = vectorizer.vector(of: normalizer.normalize(text).scalars)
        let p = softmax(model.logits(vector))
        var best = 0
        for c in p.indices where p[c] > p[best] { best = c }
        return (best, p[best])
    }

    /// Readable names of the features in `text` with their contribution to `classIndex`,
    /// largest first.
    public func contributions(of ranking: Ranking, to classIndex: Int, limit: Int = 8) -> [(feature: String, weight: Float)] {
        var sink = NamingSink()
        vectorizer.extractor.extract(ranking.normalized.scalars, into: &sink)
        var nameById: [Int32: String] = [:]
        for (hash, name) in sink.names {
            let id = vectorizer.index.id(of: hash)
            if id >= 0 { nameById[id] = name }
        }
        return model.contributions(ranking.vector, to: classIndex)
            .prefix(limit)
            .filter { $0.value > 0 }
            .map { (nameById[$0.id] ?? "#\($0.id)", $0.value) }
    }
}
