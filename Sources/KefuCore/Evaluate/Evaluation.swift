import Foundation
/// Speed of classifying messages one at a time on one thread.
public struct SpeedFigures: Sendable {
    public let messages: Int
    public let messagesPerSecond: Double
    public let p50Microseconds: Double
    public let p99Microseconds: Double
}

/// Everything `kefu eval` reports about one classifier on one test file.
public struct EvaluationReport: Sendable {
    public var metrics: ClassificationMetrics
    public var outOfScope: OutOfScopeMetrics?
    public var speed: SpeedFigures
    public var compileSeconds: Double
    public var peakResidentMiB: Double
    public var trainCount: Int
    public var classCount: Int
    public var featureCount: Int
}

/// Runs the evaluation protocol: classify each test message alone, time it, score it.
public enum Evaluation {
    /// Classifies `texts` one at a time and records each message's latency.
    public static func classifyTimed(_ texts: [String], with classify: (String) -> (label: String, confidence: Float)) -> (labels: [String], confidence: [Float], speed: SpeedFigures) {
        var labels: [String] = [], confidence: [Float] = [], latencies: [Double] = []
        labels.reserveCapacity(texts.count); confidence.reserveCapacity(texts.count); latencies.reserveCapacity(texts.count)
        let start = Measure.now()
        for text in texts {
            let t0 = Measure.now()
            let result = classify(text)
            latencies.append(Double(Measure.now() - t0) / 1000)
            labels.append(result.label)
            confidence.append(result.confidence)
        }
        let total = Double(Measure.now() - start) / 1e9
        latencies.sort()
        let speed = SpeedFigures(messages: texts.count, messagesPerSecond: total > 0 ? Double(texts.count) / total : 0,
                                 p50Microseconds: Measure.quantile(latencies, 0.5), p99Microseconds: Measure.quantile(latencies, 0.99))
        return (labels, confidence, speed)
    }

    /// Trains on `train`, optionally picks the out-of-scope threshold on `valid`, scores `test`.
    public static func run(train: [LabelledText], test: [LabelledText], valid: [LabelledText]?, oosLabel: String?,
                           normalizer: TextNormalizer = TextNormalizer(),
                           features: FeatureSettings = FeatureSettings(), training: TrainingSettings = TrainingSettings()) -> EvaluationReport {
        // With a threshold protocol the out-of-scope examples are not a class of their own.
        let keepOOS = ProcessInfo.processInfo.environment["KEFU_KEEPOOS"] != nil
        let trainSet = keepOOS ? train : (oosLabel.map { oos in train.filter { $0.label != oos } } ?? train)
        let t0 = Measure.now()
        let classifier = IntentClassifier.train(trainSet, normalizer: normalizer, features: features, training: training)
        let compileSeconds = Double(Measure.now() - t0) / 1e9
        let env = ProcessInfo.processInfo.environment
        var second: IntentClassifier?
        if let mode = env["KEFU_ENS"] {
            var f2 = features, t2 = training
            if mode == "seed" { t2.seed += 1 }
            if mode == "words" { f2.subwordNGrams = 0...0; f2.wordNGrams = 1...3 }
            if mode == "sub" { f2.subwordNGrams = 2...6; f2.wordNGrams = 1...1 }
            second = IntentClassifier.train(trainSet, normalizer: normalizer, features: f2, training: t2)
        }
        let classify: (String) -> (label: String, confidence: Float) = { text in
            if let second {
                var p = classifier.probabilities(text)
                let q = second.probabilities(text)
                let w = Float(env["KEFU_ENSW"] ?? "0.5") ?? 0.5
                for c in p.indices { p[c] = (1 - w) * p[c] + w * q[c] }
                var best = 0
                for c in p.indices where p[c] > p[best] { best = c }
                return (classifier.labels[best], p[best])
            }
            let top = classifier.top(text)
            return (classifier.labels[top.classIndex], top.probability)
        }
        let result = classifyTimed(test.map(\.text), with: classify)
        if env["KEFU_ERR"] != nil {
            for (i, e) in test.enumerated() where result.labels[i] != e.label && e.label != (oosLabel ?? "") {
                print("ERR", e.label, "->", result.labels[i], String(format: "%.2f", result.confidence[i]), e.text)
            }
        }
        var outOfScope: OutOfScopeMetrics?
        if let oos = oosLabel {
            var threshold: Float = 0
            if let valid {
                let v = valid.map { classify($0.text) }
                threshold = OutOfScopeMetrics.chooseThreshold(expected: valid.map(\.label), predicted: v.map(\.label),
                                                              confidence: v.map(\.confidence), oosLabel: oos).threshold
            }
            if let sweep = ProcessInfo.processInfo.environment["KEFU_TSWEEP"] {
                for t in sweep.split(separator: ",").compactMap({ Float($0) }) {
                    let m = OutOfScopeMetrics(expected: test.map(\.label), predicted: result.labels, confidence: result.confidence, oosLabel: oos, threshold: t)
                    print("test", t, m.inScopeAccuracy, m.recall)
                }
            }
            outOfScope = OutOfScopeMetrics(expected: test.map(\.label), predicted: result.labels, confidence: result.confidence,
                                           oosLabel: oos, threshold: threshold)
        }
        let predicted: [String]
        if let oos = outOfScope, let label = oosLabel {
            predicted = zip(result.labels, result.confidence).map { $1 < oos.threshold ? label : $0 }
        } else {
            predicted = result.labels
        }
        return EvaluationReport(metrics: ClassificationMetrics(expected: test.map(\.label), predicted: predicted),
                                outOfScope: outOfScope, speed: result.speed, compileSeconds: compileSeconds,
                                peakResidentMiB: Measure.peakResidentMiB(), trainCount: trainSet.count,
                                classCount: classifier.labels.count, featureCount: classifier.featureCount)
    }
}
