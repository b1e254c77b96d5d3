import Foundation
import KefuCore

/// `kefu stats`: containment, handoffs, fallbacks, time to claim and satisfaction.
enum StatsCommand {
    static let name = "stats"
    static let summary = "service figures from the event log"
    static let help = """
    Usage: kefu stats [--data DIR] [--store URL] [--json]

    Reads the event log in the data folder (or on Redis, with --store) and prints:
    conversations, containment rate (closed without a person), handoff rate and reasons,
    fallback and clarification rates, median and p90 time to claim, satisfaction (average
    and distribution), top topics.

    Options:
      --data DIR   the data folder (default: $KEFU_DATA or ./.kefu)
    \(DataOptions.storeHelp)
      --json       one JSON object

    Example:
      kefu stats --json
    """
    static let options = [DataOptions.spec, DataOptions.storeSpec, OptionSpec(name: "--json", takesValue: false)]

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, options: options, command: name)
        let (events, notices) = try DataOptions.events(args)
        for n in notices { printError("kefu: \(n)") }
        let m = ServiceMetrics(events: events)
        if args.has("--json") {
            print(jsonLine(m.dictionary))
            return 0
        }
        m.textLines().forEach { print($0) }
        return 0
    }
}
