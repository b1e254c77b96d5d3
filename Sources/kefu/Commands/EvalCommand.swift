import Foundation
import KefuCore

/// `kefu eval`: accuracy, out-of-scope detection and speed on labelled JSONL files.
enum EvalCommand {
    static let name = "eval"
    static let summary = "measure accuracy and speed on labelled JSONL files"
    static let train = Option("--train", value: "FILE", help: "training examples")
    static let test = Option("--test", value: "FILE", help: "test examples")
    static let valid = Option("--valid", value: "FILE", help: "validation examples, used to choose the out-of-scope threshold")
    static let oosLabel = Option("--oos-label", value: "LABEL", help: "the label of out-of-scope examples (CLINC150: oos)")
    static let kb = KnowledgeOptions.kb.with(help: "evaluate a knowledge base folder instead of --train")
    static let json = Option("--json", help: "print the figures as one JSON object on the last line")
    static let curve = Option("--curve", help: "also print in-scope accuracy and oos recall at thresholds 0 … 0.5")
    static let misses = Option("--misses", help: "list every test message that was classified wrongly")
    static let emotion = Option("--emotion", value: "LABEL", help: "with --kb: score the emotion reading against LABEL (angry vs the rest)")
    static let cjkNGrams = Option("--cjk-ngrams", value: "A-B", help: "character n-gram sizes in Chinese text (default 1-2)")
    static let cjkEdges = Option("--cjk-edges", value: "A-B", help: "n-gram sizes marked as the start or end of a Chinese run (default 0-0: off)")
    static let wordNGrams = Option("--word-ngrams", value: "A-B", help: "word n-gram sizes in Latin text (default 1-2)")
    static let subwordNGrams = Option("--subword-ngrams", value: "A-B", help: "character n-gram sizes inside Latin words (default 3-3; 0-0 off)")
    static let unseenWeight = Option("--unseen-weight", value: "X", help: "weight of never-seen n-grams in a message's norm (default 1)")
    static let epochs = Option("--epochs", value: "N", help: "minimum passes over the training examples (default 16)")
    static let learningRate = Option("--learning-rate", value: "X", help: "initial SGD learning rate (default 2)")
    static let dropout = Option("--dropout", value: "X", help: "chance that a Latin-script feature is left out of one training step (default 0.5)")
    static let seed = Option("--seed", value: "N", help: "seed of the training shuffle and dropout: rerun with a few to see the noise")
    static let command = CommandDescription(
        name: name, summary: summary,
        usage: [UsageForm(required: [train, test], optional: [valid, oosLabel, json, curve, misses], then: "[tuning options]"),
                UsageForm(required: [kb, test], optional: [json, misses]),
                UsageForm(required: [kb, test, emotion], optional: [])],
        about: """
        Trains a classifier on --train (one {"text","label"} object per line), classifies every
        message of --test one at a time on one thread, and prints accuracy, macro-F1 and speed.
        With --oos-label, messages of that label are out of scope: they are left out of training,
        a confidence threshold is chosen on --valid (when given), and in-scope accuracy,
        out-of-scope recall and precision at that threshold are printed.
        With --kb, the knowledge base is the classifier and --test labels are topic ids
        (or out_of_scope); lines may also carry "route".
        With --kb and --emotion LABEL, --test is {"text","label"} messages and the figures are how
        well the emotion reading at level upset or above finds the LABEL ones (precision, recall,
        F1), for the lexicon alone and with the handoff model (e.g. SMP2020-EWECT, LABEL angry).
        """,
        options: [train, test, valid, oosLabel, kb, json, curve, misses, emotion],
        more: [.init(title: "Tuning (judge every change with this command, never on one message)",
                     options: [cjkNGrams, cjkEdges, wordNGrams, subwordNGrams, unseenWeight, epochs, learningRate, dropout, seed])],
        examples: ["""
            kefu eval --train ../shared/data/clinc150/train.jsonl --test ../shared/data/clinc150/test.jsonl \\
                      --valid ../shared/data/clinc150/valid.jsonl --oos-label oos
            """])
    static var help: String { command.help }

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        guard let testPath = args[test] else {
            throw UsageError(message: "missing --test FILE.", command: name)
        }
        if let extra = args.positionals.first {
            throw UsageError(message: "unexpected argument '\(extra)'.", command: name)
        }
        if args[kb] != nil, let positive = args[emotion] {
            let knowledge = try KnowledgeOptions.load(args)
            let e = EmotionEvaluation(kb: knowledge, examples: try readExamples(testPath), positive: positive)
            print("\(e.total) messages, \(e.positives) labelled \(positive); predicted \(positive) = emotion level ≥ \(e.level.rawValue)")
            for (name, f) in [("lexicon", e.lexicon), ("lexicon + handoff model", e.combined)] {
                print(name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "precision %.3f  recall %.3f  F1 %.3f", f.precision, f.recall, f.f1))
            }
            return 0
        }
        if let kb = args[kb] {
            let (features, training) = try settings(args, startingFrom: .knowledgeBase)
            return try KnowledgeBaseEval.run(kbPath: kb, testPath: testPath, json: args.has(json), showMisses: args.has(misses),
                                             features: features, training: training)
        }
        guard let trainPath = args[train] else {
            throw UsageError(message: "give --train FILE (or --kb DIR).", command: name)
        }
        let train = try readExamples(trainPath)
        let test = try readExamples(testPath)
        let valid = try args[valid].map(readExamples)
        let (features, training) = try settings(args)
        let report = Evaluation.run(train: train, test: test, valid: valid, oosLabel: args[oosLabel],
                                    features: features, training: training)
        printReport(report, json: args.has(json), curve: args.has(curve), misses: args.has(misses))
        return 0
    }

    static func readExamples(_ path: String) throws -> [LabelledText] {
        do {
            return try LabelledFile.read(path).map(\.example)
        } catch let problem as LabelledFile.Problem {
            throw CommandFailure(message: problem.description)
        }
    }

    /// Classifier settings from the tuning options; unset ones keep the defaults.
    /// With `--kb` they start from the knowledge base's own feature settings, so a flag
    /// changes only what it names.
    static func settings(_ args: ParsedArguments, startingFrom base: FeatureSettings = FeatureSettings()) throws -> (FeatureSettings, TrainingSettings) {
        var features = base
        var training = TrainingSettings()
        func range(_ option: Option) throws -> ClosedRange<Int>? {
            guard let text = args[option] else { return nil }
            let parts = text.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] <= parts[1], parts[0] >= 0 else {
                throw UsageError(message: "\(option.name) takes a range such as 1-3, not '\(text)'.", command: name)
            }
            return parts[0]...parts[1]
        }
        func number(_ option: Option) throws -> Float? {
            guard let text = args[option] else { return nil }
            guard let v = Float(text), v >= 0 else { throw UsageError(message: "\(option.name) takes a number, not '\(text)'.", command: name) }
            return v
        }
        if let r = try range(cjkNGrams) { features.ideographNGrams = r }
        if let r = try range(cjkEdges) { features.ideographEdgeNGrams = r }
        if let r = try range(wordNGrams) { features.wordNGrams = r }
        if let r = try range(subwordNGrams) { features.subwordNGrams = r }
        if let v = try number(unseenWeight) { features.unknownWeight = v }
        if let v = try number(epochs) { training.epochs = Int(v) }
        if let v = try number(learningRate) { training.learningRate = v }
        if let v = try number(dropout) {
            guard v < 1 else { throw UsageError(message: "--dropout takes a probability below 1, such as 0.5, not '\(v)'.", command: name) }
            training.featureDropout = v
        }
        if let text = args[seed] {
            guard let v = UInt64(text) else { throw UsageError(message: "--seed takes a whole number, not '\(text)'.", command: name) }
            training.seed = v
        }
        return (features, training)
    }

    static func printReport(_ r: EvaluationReport, json: Bool, curve: Bool, misses: Bool) {
        func pct(_ v: Double) -> String { String(format: "%.2f%%", v * 100) }
        print("trained on \(r.trainCount) examples, \(r.classCount) classes, \(r.featureCount) features")
        print("accuracy            \(pct(r.metrics.accuracy))   (\(r.metrics.count) test messages)")
        print("macro-F1            \(pct(r.metrics.macroF1))")
        if let o = r.outOfScope {
            print("out-of-scope threshold \(String(format: "%.3f", o.threshold))")
            print("in-scope accuracy   \(pct(o.inScopeAccuracy))")
            print("oos recall          \(pct(o.recall))")
            print("oos precision       \(pct(o.precision))")
        }
        print(String(format: "speed               %.0f messages/s, p50 %.1f µs, p99 %.1f µs (one at a time, one thread)",
                     r.speed.messagesPerSecond, r.speed.p50Microseconds, r.speed.p99Microseconds))
        if curve && !r.thresholdCurve.isEmpty {
            print("threshold curve on the test file (threshold: in-scope accuracy / oos recall)")
            for m in r.thresholdCurve { print(String(format: "  %.2f: %.2f%% / %.2f%%", m.threshold, m.inScopeAccuracy * 100, m.recall * 100)) }
        }
        if misses {
            for m in r.misses { print(String(format: "  miss: %@ → %@ (%.2f)  %@", m.expected, m.predicted, m.confidence, m.text)) }
        }
        print(String(format: "compile             %.3f s", r.compileSeconds))
        print(String(format: "peak memory         %.1f MiB", r.peakResidentMiB))
        if json {
            var object: [String: Any] = [
                "accuracy": r.metrics.accuracy, "macro_f1": r.metrics.macroF1,
                "messages_per_second": r.speed.messagesPerSecond, "p50_us": r.speed.p50Microseconds,
                "p99_us": r.speed.p99Microseconds, "compile_seconds": r.compileSeconds, "peak_rss_mb": r.peakResidentMiB,
            ]
            if let o = r.outOfScope {
                object["in_scope_accuracy"] = o.inScopeAccuracy
                object["oos_recall"] = o.recall
                object["oos_precision"] = o.precision
                object["oos_threshold"] = Double(o.threshold)
            }
            print(JSONValue.line(object))
        }
    }
}
