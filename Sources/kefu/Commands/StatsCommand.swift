import Foundation
import KefuCore

/// `kefu stats`: containment, handoffs, fallbacks, time to claim and satisfaction.
enum StatsCommand {
    static let name = "stats"
    static let summary = "service figures from the event log"
    static let json = Option("--json", help: "one JSON object")
    static let command = CommandDescription(
        name: name, summary: summary,
        about: """
        Reads the event log in the data folder (or on Redis, with --store) and prints:
        conversations, containment rate (closed without a person), handoff rate and reasons,
        fallback and clarification rates, median and p90 time to claim, satisfaction (average
        and distribution), top topics.
        """,
        options: [DataOptions.data, DataOptions.store, json],
        examples: ["kefu stats --json"])
    static var help: String { command.help }

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        let (events, notices) = try DataOptions.events(args)
        for n in notices { printError("kefu: \(n)") }
        let m = ServiceMetrics(events: events)
        if args.has(json) {
            print(JSONValue.line(m.dictionary))
            return 0
        }
        m.textLines().forEach { print($0) }
        return 0
    }
}
