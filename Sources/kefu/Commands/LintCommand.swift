import Foundation
import KefuCore

/// `kefu lint`: every problem in the knowledge files, errors and warnings, by rule.
enum LintCommand {
    static let name = "lint"
    static let summary = "check the knowledge files: errors, weak or clashing entries"
    static let json = Option("--json", help: "one JSON array of {file, line, severity, rule, message}")
    static let command = CommandDescription(
        name: name, summary: summary,
        about: """
        Checks FAQ/ and Intents/ and prints every problem as
          file:line: severity: message [rule]
        then a count. Errors stop the bot from loading the files; warnings are content
        that works but serves customers worse. Exit status 1 when there is an error, else 0.
        Entries marked `draft: true` are checked for syntax only.

        Rules:
        \(LintRule.allCases.map { "  " + $0.rawValue.padding(toLength: 21, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n"))

        `shadowed` and `confusable` come from 5-fold cross-validation over the phrasings:
        each phrasing is classified by a knowledge base trained without it.
        """,
        options: [KnowledgeOptions.kb, json],
        examples: ["kefu lint --kb ."])
    static var help: String { command.help }

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        if let extra = args.positionals.first {
            throw UsageError(message: "unexpected argument '\(extra)'; pass the folder with --kb DIR.", command: name)
        }
        let folder = KnowledgeOptions.folder(args)
        let report = KnowledgeLinter.lint(folder: folder)
        if args.has(json) {
            print(JSONValue.line(report.findings.map(\.dictionary)))
        } else {
            for finding in report.findings { print(finding.description) }
            let e = report.errors.count, w = report.warnings.count
            var closing = "\(e) error\(e == 1 ? "" : "s"), \(w) warning\(w == 1 ? "" : "s") in \(report.entryCount) entries"
            if report.draftCount > 0 { closing += " (and \(report.draftCount) draft\(report.draftCount == 1 ? "" : "s"))" }
            if let cv = report.crossValidation {
                closing += String(format: "; cross-validation: %.1f%% of phrasings reach their entry, %.1f%% their topic (%.1f s)",
                                  cv.entryAccuracy * 100, cv.topicAccuracy * 100, cv.seconds)
            }
            print(closing)
        }
        return report.errors.isEmpty ? 0 : 1
    }
}
