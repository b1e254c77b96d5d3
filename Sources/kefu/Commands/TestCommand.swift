import Foundation
import KefuCore

/// `kefu test`: the editors' regression files against a knowledge base.
enum TestCommand {
    static let name = "test"
    static let summary = "run regression files (messages and conversations) against the knowledge base"
    static let loo = Option("--loo", help: """
        also print the leave-one-out check: every FAQ phrasing classified by a
        knowledge base trained without it (5 folds), accuracy per topic
        """)
    static let misses = Option("--misses", help: "with --loo: list every phrasing that went to another entry")
    static let command = CommandDescription(
        name: name, summary: summary,
        usage: [UsageForm(then: "[FILE…]")],
        about: """
        Runs regression files: single messages with their expected topic / entry / route,
        and multi-turn conversations (see docs/KNOWLEDGE-FORMAT.md, "Regression files").
        Prints one line per case, PASS or FAIL (with what was expected, what came and the
        rule behind it), then the closing line `N passed, N failed`. Exit status 1 when a
        case failed.

        Without FILE it runs the knowledge base's own regression files:
        Tests/Data/*regression*.txt under the --kb folder.
        """,
        options: [KnowledgeOptions.kb, loo, misses],
        examples: ["kefu test --kb . Tests/Data/kb-regression.txt"])
    static var help: String { command.help }

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        let folder = KnowledgeOptions.folder(args)
        var files = args.positionals
        if files.isEmpty {
            files = shippedFiles(in: folder)
            if files.isEmpty {
                throw UsageError(message: "no regression files given and none in \(folder)/Tests/Data (*regression*.txt); pass FILE.", command: name)
            }
        }
        let kb = try KnowledgeOptions.load(args)
        var cases: [RegressionCase] = []
        for file in files {
            do { cases += try RegressionFile.read(file, displayPath: displayPath(file)) } catch let error as RegressionFile.ReadError {
                throw CommandFailure(message: error.description)
            }
        }
        let runner = RegressionRunner(kb: kb)
        var passed = 0, failed = 0
        for c in cases {
            let result = runner.run(c)
            print(result.description)
            flushStandardOutput()
            if result.passed { passed += 1 } else { failed += 1 }
        }
        if args.has(loo) {
            var problems: [LoadProblem] = []
            if let source = KnowledgeLoader.readSource(folder, problems: &problems) {
                printLeaveOneOut(PhrasingCrossValidation.run(source, folder: folder), kb: kb, misses: args.has(misses))
            }
        }
        print("\(passed) passed, \(failed) failed")
        return failed == 0 ? 0 : 1
    }

    /// The path relative to the working directory when it lies below it.
    static func displayPath(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        let base = cwd.hasSuffix("/") ? cwd : cwd + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    /// `Tests/Data/*regression*.txt` under the knowledge base folder, sorted.
    static func shippedFiles(in folder: String) -> [String] {
        let data = (folder as NSString).appendingPathComponent("Tests/Data")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: data)) ?? []
        return names.filter { $0.contains("regression") && $0.hasSuffix(".txt") }.sorted()
            .map { (data as NSString).appendingPathComponent($0) }
    }

    static func printLeaveOneOut(_ cv: PhrasingCrossValidation, kb: KnowledgeBase, misses: Bool) {
        func pct(_ v: Double) -> String { String(format: "%5.1f%%", v * 100) }
        print("")
        print(String(format: "leave-one-out: %d phrasings in %d folds (%.1f s), %@ reach their entry, %@ their topic",
                     cv.predictions.count, cv.folds, cv.seconds, pct(cv.entryAccuracy).trimmingCharacters(in: .whitespaces),
                     pct(cv.topicAccuracy).trimmingCharacters(in: .whitespaces)))
        print("  topic                   phrasings   entry   topic")
        for t in cv.byTopic {
            let name = t.topic.padding(toLength: 24, withPad: " ", startingAt: 0)
            print("  \(name)\(String(t.phrasings).leftPadded(9))  \(pct(t.entryAccuracy))  \(pct(t.topicAccuracy))")
        }
        if misses {
            for p in cv.predictions where !p.entryCorrect || !p.topicCorrect {
                print("  miss \(p.file):\(p.line)  \(p.text)  (\(p.entryID)) → \(p.predictedEntry ?? "none") [\(p.predictedTopic), \(p.route.rawValue), \(String(format: "%.2f", p.confidence))]")
            }
        }
        print("")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
