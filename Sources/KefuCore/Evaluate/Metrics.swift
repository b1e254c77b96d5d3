/// Accuracy and macro-F1 over predicted and expected labels.
public struct ClassificationMetrics: Sendable {
    public let count: Int
    public let accuracy: Double
    public let macroF1: Double
    /// Per-label (precision, recall, f1, support), sorted by label.
    public let perLabel: [(label: String, precision: Double, recall: Double, f1: Double, support: Int)]

    public init(expected: [String], predicted: [String]) {
        precondition(expected.count == predicted.count)
        count = expected.count
        var correct = 0
        var truePositive: [String: Int] = [:], predictedCount: [String: Int] = [:], support: [String: Int] = [:]
        for (e, p) in zip(expected, predicted) {
            support[e, default: 0] += 1
            predictedCount[p, default: 0] += 1
            if e == p { correct += 1; truePositive[e, default: 0] += 1 }
        }
        accuracy = count == 0 ? 0 : Double(correct) / Double(count)
        var rows: [(String, Double, Double, Double, Int)] = []
        for label in support.keys.sorted() {
            let tp = Double(truePositive[label] ?? 0)
            let precision = predictedCount[label].map { tp / Double($0) } ?? 0
            let recall = tp / Double(support[label]!)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            rows.append((label, precision, recall, f1, support[label]!))
        }
        perLabel = rows
        macroF1 = rows.isEmpty ? 0 : rows.map(\.3).reduce(0, +) / Double(rows.count)
    }
}

/// In-scope accuracy and out-of-scope recall/precision when messages below a confidence
/// threshold are declared out of scope (the CLINC150 protocol).
public struct OutOfScopeMetrics: Sendable {
    public let threshold: Float
    public let inScopeAccuracy: Double
    public let recall: Double
    public let precision: Double

    public init(expected: [String], predicted: [String], confidence: [Float], oosLabel: String, threshold: Float) {
        var inScope = 0, inScopeCorrect = 0, oos = 0, oosCaught = 0, flagged = 0
        for i in expected.indices {
            let declaredOOS = confidence[i] < threshold || predicted[i] == oosLabel
            if declaredOOS { flagged += 1 }
            if expected[i] == oosLabel {
                oos += 1
                if declaredOOS { oosCaught += 1 }
            } else {
                inScope += 1
                if !declaredOOS && predicted[i] == expected[i] { inScopeCorrect += 1 }
            }
        }
        self.threshold = threshold
        inScopeAccuracy = inScope == 0 ? 0 : Double(inScopeCorrect) / Double(inScope)
        recall = oos == 0 ? 0 : Double(oosCaught) / Double(oos)
        let flaggedCorrectly = Double(oosCaught)
        precision = flagged == 0 ? 0 : flaggedCorrectly / Double(flagged)
    }

    /// The threshold that makes the fewest mistakes on a validation set, counting
    /// "out of scope" as one more label (ties: the lower threshold). Searched over the
    /// observed confidences, rounded to 0.001.
    public static func chooseThreshold(expected: [String], predicted: [String], confidence: [Float], oosLabel: String) -> OutOfScopeMetrics {
        var candidates = Array(Set(confidence.map { ($0 * 1000).rounded() / 1000 })).sorted()
        candidates.insert(0, at: 0)
        var best: (threshold: Float, correct: Int) = (0, -1)
        for t in candidates {
            var correct = 0
            for i in expected.indices {
                let label = confidence[i] < t ? oosLabel : predicted[i]
                if label == expected[i] { correct += 1 }
            }
            if correct > best.correct { best = (t, correct) }
        }
        return OutOfScopeMetrics(expected: expected, predicted: predicted, confidence: confidence, oosLabel: oosLabel, threshold: best.threshold)
    }
}
