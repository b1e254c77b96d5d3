import Foundation
import KefuCore

/// `kefu stats`: containment, handoffs, fallbacks, time to claim and satisfaction.
enum StatsCommand {
    static let name = "stats"
    static let summary = "service figures from the event log"
    static let help = """
    Usage: kefu stats [--data DIR] [--json]

    Reads the event log in the data folder and prints: conversations, containment rate
    (closed without a person), handoff rate and reasons, fallback and clarification rates,
    median and p90 time to claim, satisfaction (average and distribution), top topics.

    Options:
      --data DIR   the data folder (default: $KEFU_DATA or ./.kefu)
      --json       one JSON object

    Example:
      kefu stats --json
    """
    static let options = [DataOptions.spec, OptionSpec(name: "--json", takesValue: false)]

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, options: options, command: name)
        let folder = DataOptions.folder(args)
        let (events, notices) = try EventLog.read(folder: folder)
        for n in notices { printError("kefu: \(n)") }
        let m = ServiceMetrics(events: events)
        if args.has("--json") {
            print(jsonLine(m.dictionary))
            return 0
        }
        func pct(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
        print("conversations        \(m.conversations) (\(m.messages) customer messages)")
        print("containment          \(pct(m.containmentRate)) closed without a person")
        print("handoff rate         \(pct(m.handoffRate))" + (m.handoffReasons.isEmpty ? "" : "  — " + m.handoffReasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        print("fallback rate        \(pct(m.fallbackRate)) of messages")
        print("clarification rate   \(pct(m.clarificationRate)) of messages")
        if let median = m.medianSecondsToClaim, let p90 = m.p90SecondsToClaim {
            print("time to claim        median \(TicketJSON.duration(median)), p90 \(TicketJSON.duration(p90))")
        } else {
            print("time to claim        no ticket claimed yet")
        }
        if let average = m.satisfactionAverage {
            print(String(format: "satisfaction         %.2f / 5  (", average) + (1...5).map { "\($0): \(m.ratings[$0] ?? 0)" }.joined(separator: ", ") + ")")
        } else {
            print("satisfaction         no ratings yet")
        }
        if !m.topTopics.isEmpty { print("top topics           " + m.topTopics.prefix(5).map { "\($0.topic) \($0.count)" }.joined(separator: ", ")) }
        return 0
    }
}
