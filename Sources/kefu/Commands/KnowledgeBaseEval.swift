import Foundation
import KefuCore

/// `kefu eval --kb DIR --test FILE`: the knowledge base against labelled customer messages.
enum KnowledgeBaseEval {
    static func run(kbPath: String, testPath: String, json: Bool, showMisses: Bool,
                    features: FeatureSettings, training: TrainingSettings) throws -> Int32 {
        let kb: KnowledgeBase
        do { kb = try KnowledgeLoader.load(from: kbPath, features: features, training: training) } catch let error as KnowledgeLoadError {
            throw CommandFailure(message: "cannot build the knowledge base in \(kbPath):\n\(error.description)")
        }
        let examples: [RoutedExample]
        do { examples = try LabelledFile.readRouted(testPath) } catch let p as LabelledFile.Problem {
            throw CommandFailure(message: p.description)
        }
        let r = KnowledgeBaseEvaluation(kb: kb, examples: examples)
        func pct(_ v: Double) -> String { String(format: "%.2f%%", v * 100) }
        print("knowledge base: \(kb.entries.count) entries, \(kb.classifier.featureCount) features, compiled in \(String(format: "%.3f", kb.compileSeconds)) s")
        print("topic accuracy      \(pct(r.topicMetrics.accuracy))   (\(r.topicMetrics.count) messages)")
        print("topic macro-F1      \(pct(r.topicMetrics.macroF1))")
        print("route accuracy      \(pct(r.routeAccuracy))   (clarify counts as right for a routine question)")
        print("must hand off       \(r.handoffExpected - r.handoffMissed.count)/\(r.handoffExpected) handed off")
        print("calm routine        \(r.routineHandedOff.count)/\(r.routineAnswerExpected) wrongly handed off")
        if r.outOfScopeExpected > 0 { print("out of scope        \(r.outOfScopeCaught)/\(r.outOfScopeExpected) caught (fell back)") }
        if !r.handedOffByReason.isEmpty {
            let parts = r.handedOffByReason.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value.handedOff)/\($0.value.expected)" }
            print("handed off, by reason  \(parts.joined(separator: ", "))")
        }
        print(String(format: "speed               %.0f messages/s, p50 %.1f µs, p99 %.1f µs", r.speed.messagesPerSecond, r.speed.p50Microseconds, r.speed.p99Microseconds))
        if showMisses {
            for m in r.handoffMissed { print("  missed handoff: \(m.example.text)  → \(m.route.rawValue) [\(m.rule)]") }
            for m in r.routineHandedOff { print("  handed off calm: \(m.example.text)  → \(m.rule)") }
            for m in r.topicMisses { print("  topic: \(m.example.text)  expected \(m.example.topic), got \(m.topic) (\(m.route.rawValue))") }
        }
        if json {
            print(JSONValue.line([
                "accuracy": r.topicMetrics.accuracy, "macro_f1": r.topicMetrics.macroF1, "route_accuracy": r.routeAccuracy,
                "handoff_expected": r.handoffExpected, "handoff_missed": r.handoffMissed.count,
                "routine_handed_off": r.routineHandedOff.count, "messages_per_second": r.speed.messagesPerSecond,
                "p50_us": r.speed.p50Microseconds, "p99_us": r.speed.p99Microseconds,
                "compile_seconds": kb.compileSeconds, "peak_rss_mb": Measure.peakResidentMiB(),
            ]))
        }
        return 0
    }
}
