/// How well the emotion reading finds one kind of message (angry posts, say): the share of
/// them read at `level` or above (recall), the share of those readings that were right
/// (precision), and F1 — for the lexicon alone, and for the lexicon with the handoff model.
public struct EmotionEvaluation: Sendable {
    public struct Figures: Sendable {
        public let truePositives: Int, falsePositives: Int, falseNegatives: Int
        public var precision: Double { Self.ratio(truePositives, truePositives + falsePositives) }
        public var recall: Double { Self.ratio(truePositives, truePositives + falseNegatives) }
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
        static func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }

        init(_ pairs: [(predicted: Bool, actual: Bool)]) {
            truePositives = pairs.filter { $0.predicted && $0.actual }.count
            falsePositives = pairs.filter { $0.predicted && !$0.actual }.count
            falseNegatives = pairs.filter { !$0.predicted && $0.actual }.count
        }
    }

    public let positives: Int
    public let total: Int
    public let level: EmotionLevel
    /// The lexicon's reading alone (`Intents/emotion.txt`).
    public let lexicon: Figures
    /// The reading the router uses: the lexicon raised to the handoff model's anger.
    public let combined: Figures

    public init(kb: KnowledgeBase, examples: [LabelledText], positive: String, level: EmotionLevel = .upset) {
        var lexicon: [(Bool, Bool)] = [], combined: [(Bool, Bool)] = []
        for example in examples {
            let n = kb.classifier.normalizer.normalize(example.text)
            let actual = example.label == positive
            lexicon.append((kb.emotion.read(n).level >= level, actual))
            combined.append((kb.understand(n).emotion.level >= level, actual))
        }
        self.positives = examples.filter { $0.label == positive }.count
        self.total = examples.count
        self.level = level
        self.lexicon = Figures(lexicon)
        self.combined = Figures(combined)
    }
}
