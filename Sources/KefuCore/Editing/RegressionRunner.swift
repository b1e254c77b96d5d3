import Foundation

/// The outcome of one regression case, printed as `PASS …` or `FAIL …`.
public struct RegressionResult: Sendable {
    public let file: String
    public let line: Int
    public let passed: Bool
    /// What follows PASS / FAIL: `file:line  message → got`, or what was expected and what came.
    public let detail: String

    public var description: String { (passed ? "PASS " : "FAIL ") + detail }
}

/// Runs regression cases against a knowledge base.
///
/// A single message is read as in a fresh conversation and routed like `kefu classify`
/// (the topic is `out_of_scope` when the bot falls back). A conversation goes through the
/// real dialogue policy with a throw-away data folder, the clock starting at 10:00 on a
/// Monday in the company's timezone and moving 5 seconds per customer line and a minute
/// per agent action, exactly like the conversation tests.
public struct RegressionRunner: Sendable {
    public let kb: KnowledgeBase

    public init(kb: KnowledgeBase) { self.kb = kb }

    public func run(_ cases: [RegressionCase]) -> [RegressionResult] {
        cases.map(run)
    }

    public func run(_ c: RegressionCase) -> RegressionResult {
        let place = "\(c.file):\(c.line)"
        switch c.body {
        case .unreadable(let message):
            return RegressionResult(file: c.file, line: c.line, passed: false, detail: "\(place)  \(message)")
        case .message(let text, let expected):
            return runMessage(text, expected: expected, file: c.file, line: c.line)
        case .conversation(let title, let steps):
            do {
                return try runConversation(title, steps: steps, file: c.file, line: c.line)
            } catch {
                return RegressionResult(file: c.file, line: c.line, passed: false, detail: "\(place)  conversation \(title): \(error)")
            }
        }
    }

    // MARK: - Single messages

    struct Expectation {
        var topic: String?
        var entry: String?
        var route: Route?
        var reason: HandoffReason?
        var problems: [String] = []

        var text: String {
            var parts: [String] = []
            if let topic { parts.append(topic) }
            if let entry { parts.append(entry) }
            if let route { parts.append(route.rawValue + (reason.map { " " + $0.rawValue } ?? "")) }
            return parts.joined(separator: " / ")
        }
    }

    func expectation(_ tokens: [String]) -> Expectation {
        var e = Expectation()
        for token in tokens where token != "*" && token != "-" {
            let words = token.split(separator: " ").map(String.init)
            if let route = Route(rawValue: words[0].lowercased()) {
                e.route = route
                if words.count > 1 {
                    if let reason = HandoffReason(rawValue: words[1]) { e.reason = reason }
                    else { e.problems.append("unknown handoff reason '\(words[1])' (use \(HandoffReason.allCases.map(\.rawValue).joined(separator: ", ")))") }
                }
            } else if words.count == 1, kb.topics[token] != nil || token == KnowledgeBase.outOfScopeTopic {
                e.topic = token
            } else if words.count == 1, kb.entryIndex[token] != nil {
                e.entry = token
            } else {
                e.problems.append("'\(token)' is no topic, entry or route of this knowledge base")
            }
        }
        return e
    }

    func runMessage(_ text: String, expected tokens: [String], file: String, line: Int) -> RegressionResult {
        let place = "\(file):\(line)"
        let e = expectation(tokens)
        if !e.problems.isEmpty {
            return RegressionResult(file: file, line: line, passed: false, detail: "\(place)  \(text): \(e.problems.joined(separator: "; "))")
        }
        let u = kb.understand(text)
        let d = kb.route(u)
        let topic = d.route == .fallback ? KnowledgeBase.outOfScopeTopic : d.topic ?? u.topic
        let entry = u.top?.entryID
        var got = Expectation()
        if e.topic != nil { got.topic = topic }
        if e.entry != nil { got.entry = entry ?? "none" }
        if e.route != nil { got.route = d.route; if e.reason != nil { got.reason = d.reason } }
        let ok = (e.topic == nil || e.topic == topic) && (e.entry == nil || e.entry == entry)
            && (e.route == nil || e.route == d.route) && (e.reason == nil || e.reason == d.reason)
        if ok {
            return RegressionResult(file: file, line: line, passed: true, detail: "\(place)  \(text) => \(e.text)")
        }
        // Show the whole picture on a failure, not only the parts that were asked for.
        var full = Expectation(topic: topic, entry: entry ?? "none", route: d.route, reason: d.reason)
        if d.route != .handoff { full.reason = nil }
        return RegressionResult(file: file, line: line, passed: false,
                                detail: "\(place)  \(text): expected \(e.text), got \(full.text), confidence \(twoDecimals(u.top?.probability ?? 0)) (\(d.rule))")
    }

    // MARK: - Conversations

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func runConversation(_ title: String, steps: [ConversationStep], file: String, line: Int) throws -> RegressionResult {
        let place = "\(file):\(line)"
        let data = NSTemporaryDirectory() + "kefu-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: data) }
        let desk = try ServiceDesk(folder: data)
        let dialogue = Dialogue(kb: kb, desk: desk)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = kb.company["timezone"].flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "Asia/Shanghai")!
        var now = calendar.date(from: DateComponents(year: 2026, month: 11, day: 23, hour: 10, minute: 0))!
        var state = try dialogue.start(customer: "regression-\(line)", channel: "test", now: now)
        var reply: Reply?
        var lastCustomer = ""
        var ticket: String?
        var failures: [String] = []
        var turns = 0
        for step in steps {
            switch step {
            case .customer(let text, _):
                now = now.addingTimeInterval(5)
                reply = try dialogue.respond(to: text, in: &state, now: now)
                lastCustomer = text
                turns += 1
                if let t = reply?.ticket { ticket = t.id }
            case .expect(let what, let value, let at):
                guard let r = reply else {
                    failures.append("line \(at): an expectation before any customer line")
                    continue
                }
                if let problem = check(what, value, r) {
                    failures.append("line \(at) after «\(lastCustomer)»: \(problem)")
                }
            case .agent(let action, let name, let text, let at):
                guard let id = ticket else {
                    failures.append("line \(at): agent action '\(action)' before any ticket was opened")
                    continue
                }
                now = now.addingTimeInterval(60)
                let work = AgentDesk(desk: desk, agent: name, role: .agent)
                do {
                    switch action {
                    case "claim": try work.claim(id, now: now)
                    case "reply": try work.reply(id, text: text, now: now)
                    default: try work.resolve(id, note: nil, now: now)
                    }
                } catch let error as TicketError {
                    failures.append("line \(at): \(action) failed: \(error.description)")
                }
            case .clock(let hour, let minute, _):
                now = calendar.date(bySettingHour: hour, minute: minute, second: 0, of: now)!
            }
        }
        if turns == 0 { failures.append("the conversation has no customer line (`> text`)") }
        if let id = ticket, let stored = try desk.tickets.ticket(id) {
            // Whatever the file expects, a ticket carries what the agent needs.
            if stored.summary.isEmpty { failures.append("ticket \(id) has no summary for the agent") }
            if !stored.transcript.contains(where: { $0.from == "customer" }) { failures.append("ticket \(id) does not carry the customer's words") }
        }
        if failures.isEmpty {
            return RegressionResult(file: file, line: line, passed: true, detail: "\(place)  conversation: \(title) (\(turns) customer line\(turns == 1 ? "" : "s"))")
        }
        let more = failures.count > 1 ? " (and \(failures.count - 1) more)" : ""
        return RegressionResult(file: file, line: line, passed: false, detail: "\(place)  conversation: \(title): \(failures[0])\(more)")
    }

    /// nil when the reply meets the expectation, else what went wrong.
    func check(_ what: String, _ value: String, _ r: Reply) -> String? {
        let rule = r.rule.map { " (\($0))" } ?? ""
        let said = r.text.replacingOccurrences(of: "\n", with: " ⏎ ")
        switch what {
        case "route":
            return r.route?.rawValue == value ? nil : "expected route \(value), got \(r.route?.rawValue ?? "none")\(rule)"
        case "topic":
            return r.topic == value ? nil : "expected topic \(value), got \(r.topic ?? "none")\(rule)"
        case "says":
            // `A|B|C`: any one of the alternatives.
            let alternatives = value.split(separator: "|").map(String.init)
            return alternatives.contains { r.text.contains($0) } ? nil : "expected the reply to say «\(value)», got «\(said.prefix(120))»"
        case "silent":
            return r.lines.isEmpty ? nil : "expected the bot to stay quiet, got «\(said.prefix(120))»\(rule)"
        case "language":
            let written = TextLanguage.of(r.lines.joined())
            return written.rawValue == value ? nil : "expected a reply in \(value), got one in \(written.rawValue): «\(said.prefix(120))»"
        case "lacks":
            return r.text.contains(value) ? "expected the reply not to say «\(value)», got «\(said.prefix(120))»" : nil
        case "ticket":
            // Opened by this message, or the waiting ticket this message made more urgent.
            guard let t = r.ticket ?? r.raised else { return "expected a ticket (\(value)), got none: route \(r.route?.rawValue ?? "none")\(rule)" }
            if !value.isEmpty && t.reason.rawValue != value { return "expected a ticket for \(value), got one for \(t.reason.rawValue)\(rule)" }
            return r.text.contains(t.id) ? nil : "the reply does not tell the customer the ticket number \(t.id)"
        case "no-ticket":
            guard let t = r.ticket ?? r.raised else { return nil }
            return "expected no ticket, got \(t.id) (\(t.reason.rawValue)\(r.ticket == nil ? ", raised" : ""))\(rule)"
        default:
            return "unknown expectation '\(what)'"
        }
    }
}
