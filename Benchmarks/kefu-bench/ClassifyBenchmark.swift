import Foundation
import KefuCore

/// `kefu-bench classify`: how fast Kefu classifies, one message at a time on one thread.
///
///     swift run -c release --package-path Benchmarks kefu-bench --train ../shared/data/clinc150/train.jsonl --test ../shared/data/clinc150/test.jsonl
///     swift run -c release --package-path Benchmarks kefu-bench --kb . --test Tests/Data/kb-eval.jsonl
///
/// Prints compile time, messages per second, p50/p99 latency per message and peak memory,
/// then the same figures as one JSON line. `Benchmarks/compare-fasttext.sh` runs it next
/// to fastText on the same files.
let usage = """
Usage: kefu-bench (--train FILE | --kb DIR) --test FILE [--rounds N]
  --train FILE   labelled JSONL to compile a classifier from
  --kb DIR       or a knowledge base folder (FAQ/ and Intents/)
  --test FILE    JSONL whose "text" fields are classified
  --rounds N     classify the test file N times (default 3; the best round is reported)
"""

func classifyBenchmark(_ arguments: [String]) {
let options = BenchOptions(arguments, defaults: ["--train": "", "--kb": "", "--test": "", "--rounds": "3"], usage: usage)
guard let testPath = options["--test"], options["--train"] != nil || options["--kb"] != nil else {
    FileHandle.standardError.write(Data("Error: give --test and one of --train / --kb\n\(usage)\n".utf8))
    exit(64)
}

do {
    let texts = try LabelledFile.read(testPath, labelKey: "text").map(\.example.text)
    let rounds = options.int("--rounds")
    let compileStart = Measure.now()
    let classify: (String) -> (label: String, confidence: Float)
    let what: String
    if let kbPath = options["--kb"] {
        let kb = try KnowledgeLoader.load(from: kbPath)
        classify = { text in
            let u = kb.understand(text)
            return (kb.route(u).route.rawValue, u.top?.probability ?? 0)
        }
        what = "knowledge base \(kbPath): \(kb.entries.count) entries, full understand + route per message"
    } else {
        let train = try LabelledFile.read(options["--train"]!).map(\.example)
        let classifier = IntentClassifier.train(train, normalizer: TextNormalizer())
        classify = { text in
            let top = classifier.top(text)
            return (classifier.labels[top.classIndex], top.probability)
        }
        what = "\(options["--train"]!): \(train.count) examples, \(classifier.labels.count) classes, \(classifier.featureCount) features"
    }
    let compileSeconds = Double(Measure.now() - compileStart) / 1e9
    var best: SpeedFigures?
    for _ in 0..<max(1, rounds) {
        let speed = Evaluation.classifyTimed(texts, with: classify).speed
        if best == nil || speed.messagesPerSecond > best!.messagesPerSecond { best = speed }
    }
    let s = best!
    let memory = Measure.peakResidentMiB()
    print(what)
    print(String(format: "compile      %.3f s", compileSeconds))
    print(String(format: "classify     %.0f messages/s (%d messages, best of %d rounds, one thread)", s.messagesPerSecond, s.messages, rounds))
    print(String(format: "latency      p50 %.1f µs, p99 %.1f µs", s.p50Microseconds, s.p99Microseconds))
    print(String(format: "peak memory  %.1f MiB", memory))
    let json: [String: Any] = ["system": "kefu", "messages_per_second": s.messagesPerSecond, "p50_us": s.p50Microseconds,
                               "p99_us": s.p99Microseconds, "compile_seconds": compileSeconds, "peak_rss_mb": memory]
    print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
} catch let error as KnowledgeLoadError {
    FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
    exit(1)
} catch {
    FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
    exit(1)
}
}
