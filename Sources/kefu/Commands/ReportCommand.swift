import Foundation
import KefuCore

/// `kefu report`: service figures for managers, unanswered-message clusters for editors.
enum ReportCommand {
    static let name = "report"
    static let summary = "service report from the event log: figures, charts, unanswered questions"
    static let since = Option("--since", value: "DATE", help: """
        only events from DATE on: 2026-11-23 (midnight, company timezone),
        2026-11-23T08:00:00+08:00, or 7d / 12h back from now
        """)
    static let json = Option("--json", help: "one JSON object instead of text")
    static let html = Option("--html", value: "FILE", help: "also write a self-contained HTML page with charts to FILE")
    static let command = CommandDescription(
        name: name, summary: summary,
        about: """
        Reads the event log in the data folder (or on Redis, with --store) and reports:
        conversations, containment rate, first-contact resolution, handoff rate by reason,
        fallback and clarification rates, median and p90 time to claim, satisfaction (average
        and distribution), busiest hours (in the company timezone, Intents/company.txt
        `timezone`), top topics; and, for
        editors, the messages the bot could not answer (fallback) or answered with confidence
        below 0.5, grouped into clusters of similar messages with a suggested topic.

        First-contact resolution: among conversations where the customer raised a need, the
        share the bot answered with no person brought in, no 「没用」, and no message on the
        same topic from the same customer within 24 hours after.
        """,
        options: [DataOptions.data, DataOptions.store,
                  KnowledgeOptions.kb.with(help: "knowledge base, for the timezone and the suggested topics", default: "$KEFU_KB or ."),
                  since, json, html],
        examples: ["kefu report --since 7d --html report.html"])
    static var help: String { command.help }

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        if let extra = args.positionals.first {
            throw UsageError(message: "unexpected argument '\(extra)'; pass the data folder with --data DIR.", command: name)
        }
        let kb = try KnowledgeOptions.load(args)
        let timeZone = kb.company["timezone"].flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "Asia/Shanghai")!
        var since: Date?
        if let text = args[Self.since] {
            guard let date = parseDate(text, timeZone: timeZone, now: Date()) else {
                throw UsageError(message: "cannot read the date '\(text)' for --since; write 2026-11-23, 2026-11-23T08:00:00+08:00, 7d or 12h.", command: name)
            }
            since = date
        }
        let (events, notices) = try DataOptions.events(args)
        for n in notices { printError("kefu: \(n)") }
        let report = ServiceReport(events: events, kb: kb, since: since)
        if let path = args[html] {
            do {
                try ReportPage.html(report).write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure(message: "cannot write \(path): \(error.localizedDescription)")
            }
            printError("kefu: wrote \(path)")
        }
        if args.has(json) {
            print(JSONValue.line(report.dictionary))
        } else {
            printText(report)
        }
        return 0
    }

    static func printText(_ r: ServiceReport) {
        let m = r.metrics
        var afterContainment: [String] = []
        if let fcr = r.firstContactResolution {
            afterContainment.append(String(format: "first contact        %.1f%% resolved", fcr * 100) + " (\(r.resolvedAtFirstContact) of \(r.needConversations) conversations with a need)")
        }
        var beforeTopics: [String] = []
        if !r.busiestHours.isEmpty {
            beforeTopics.append("busiest hours        " + r.busiestHours.map { String(format: "%02d:00 %d", $0.hour, $0.messages) }.joined(separator: ", ") + " (\(r.timeZone.identifier))")
        }
        m.textLines(afterContainment: afterContainment, beforeTopics: beforeTopics).forEach { print($0) }
        print("")
        print("unanswered           \(r.unansweredMessages) messages (fallback, or confidence below 0.5) in \(r.clusters.count) clusters")
        for c in r.clusters.prefix(20) {
            var topic = c.suggestedTopic + (c.suggestedEntry.map { " / \($0)" } ?? "")
            if c.suggestedEntry == nil, let near = c.nearestTopic, c.nearestConfidence >= 0.1 { topic += " (nearest \(near))" }
            print(String(format: "  %3d × ", c.size) + "\(topic): " + c.examples(4).map { "「\(LineSanitizer.clean($0))」" }.joined(separator: " "))
        }
        if r.clusters.count > 20 { print("  … \(r.clusters.count - 20) more in --json") }
    }

    /// `2026-11-23` (midnight in `timeZone`), a full ISO 8601 time, or `7d` / `12h` before `now`.
    static func parseDate(_ text: String, timeZone: TimeZone, now: Date) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let last = t.last, "dh".contains(last), let n = Double(t.dropLast()), n >= 0 {
            return now.addingTimeInterval(-n * (last == "d" ? 86400 : 3600))
        }
        let parts = t.split(separator: "-").compactMap { Int($0) }
        if parts.count == 3, t.count == 10 {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2]))
        }
        let iso = ISO8601DateFormatter()
        if let date = iso.date(from: t) { return date }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return iso.date(from: t)
    }
}
