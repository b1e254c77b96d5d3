import Foundation

/// A regression file editors write: single messages with what the bot must make of them,
/// and multi-turn conversations in the syntax of `Tests/KefuCoreTests/Conversations/*.conv`.
///
///     # comment
///     信用卡丢了怎么办 => card_service / card_loss / answer
///     我的卡被盗刷了 => handoff money
///     === conversation: a calm complaint first asks for the facts
///     > 我要投诉
///     < route clarify
///     > 昨天柜员态度很差
///     < ticket complaint
///
/// The right side of `=>` lists expectations separated by `/`, in any order: a topic id
/// (or `out_of_scope`), an entry id, a route (`answer`, `clarify`, `fallback`, `handoff`,
/// optionally followed by the handoff reason). A conversation runs from its `===` line to
/// the next `===` line or single-message case.
public struct RegressionCase: Sendable {
    public enum Body: Sendable {
        /// One message in a fresh conversation, routed like `kefu classify`; `expected` holds
        /// the raw `/`-separated tokens, resolved against the knowledge base when run.
        case message(text: String, expected: [String])
        case conversation(title: String, steps: [ConversationStep])
        /// A line that could not be read, reported as a failed case.
        case unreadable(String)
    }
    public let file: String
    public let line: Int
    public let body: Body
}

/// One line of a conversation case.
public enum ConversationStep: Sendable, Equatable {
    /// `> text`: the customer writes.
    case customer(String, line: Int)
    /// `< what value`: route, topic, says (`A|B`: any of them), lacks, ticket, no-ticket,
    /// silent (the bot says nothing of its own), language (`en` or `zh`).
    case expect(String, String, line: Int)
    /// `! claim NAME`, `! reply NAME text`, `! resolve NAME`: an agent acts on the ticket.
    case agent(String, name: String, text: String, line: Int)
    /// `@ HH:MM`: set the clock (company timezone).
    case clock(hour: Int, minute: Int, line: Int)

    public var line: Int {
        switch self {
        case .customer(_, let line), .expect(_, _, let line), .agent(_, _, _, let line), .clock(_, _, let line): line
        }
    }
}

public enum RegressionFile {
    public static let expectationKinds: Set<String> = ["route", "topic", "says", "lacks", "ticket", "no-ticket", "silent", "language"]
    public static let agentActions: Set<String> = ["claim", "reply", "resolve"]

    public struct ReadError: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "cannot read \(path); check the path (regression files are UTF-8 text)" }
    }

    public static func read(_ path: String, displayPath: String? = nil) throws -> [RegressionCase] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ReadError(path: displayPath ?? path)
        }
        return parse(text, file: displayPath ?? path)
    }

    /// The cases in `text`. With `conversation`, the whole text is one conversation of that
    /// title without a `===` line (the `Conversations/*.conv` files of the tests).
    public static func parse(_ text: String, file: String, conversation wholeFile: String? = nil) -> [RegressionCase] {
        var cases: [RegressionCase] = []
        var conversation: (title: String, line: Int, steps: [ConversationStep])? = wholeFile.map { ($0, 1, []) }
        func finish() {
            if let c = conversation { cases.append(RegressionCase(file: file, line: c.line, body: .conversation(title: c.title, steps: c.steps))) }
            conversation = nil
        }
        let lines = text.components(separatedBy: "\n")
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            let line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("===") {
                finish()
                var title = String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)
                if title.hasSuffix("===") { title = String(title.dropLast(3)).trimmingCharacters(in: .whitespaces) }
                for prefix in ["conversation:", "conversation：", "conversation"] where title.lowercased().hasPrefix(prefix) {
                    title = String(title.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
                    break
                }
                conversation = (title.isEmpty ? "line \(number)" : title, number, [])
                continue
            }
            if let first = line.first, ">!<@".contains(first), conversation != nil {
                let body = String(line.dropFirst()).trimmingCharacters(in: .whitespaces)
                if let step = step(first, body, line: number) {
                    conversation!.steps.append(step)
                } else {
                    cases.append(RegressionCase(file: file, line: number, body: .unreadable(unreadableMessage(first, body))))
                }
                continue
            }
            finish()
            guard let arrow = line.range(of: "=>") else {
                cases.append(RegressionCase(file: file, line: number, body: .unreadable(
                    "cannot read '\(line.prefix(40))': write `message => topic / entry / route`, or start a conversation with `=== conversation: title`")))
                continue
            }
            let message = String(line[..<arrow.lowerBound]).trimmingCharacters(in: .whitespaces)
            let expected = String(line[arrow.upperBound...]).split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if message.isEmpty || expected.isEmpty {
                cases.append(RegressionCase(file: file, line: number, body: .unreadable(
                    message.isEmpty ? "the message before `=>` is empty" : "nothing expected after `=>`: name a topic, an entry or a route")))
                continue
            }
            cases.append(RegressionCase(file: file, line: number, body: .message(text: message, expected: expected)))
        }
        finish()
        return cases.sorted { $0.line < $1.line }
    }

    private static func step(_ marker: Character, _ body: String, line: Int) -> ConversationStep? {
        switch marker {
        case ">":
            return body.isEmpty ? nil : .customer(body, line: line)
        case "<":
            let parts = body.split(separator: " ", maxSplits: 1).map(String.init)
            guard let what = parts.first, expectationKinds.contains(what) else { return nil }
            return .expect(what, parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "", line: line)
        case "!":
            let parts = body.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count >= 2, agentActions.contains(parts[0]) else { return nil }
            return .agent(parts[0], name: parts[1], text: parts.count > 2 ? parts[2] : "", line: line)
        case "@":
            let hm = body.split(separator: ":").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard hm.count == 2, (0..<24).contains(hm[0]), (0..<60).contains(hm[1]) else { return nil }
            return .clock(hour: hm[0], minute: hm[1], line: line)
        default:
            return nil
        }
    }

    private static func unreadableMessage(_ marker: Character, _ body: String) -> String {
        switch marker {
        case "<": "unknown expectation '< \(body.prefix(30))': use route, topic, says, lacks, ticket, no-ticket, silent or language"
        case "!": "unknown agent action '! \(body.prefix(30))': use claim NAME, reply NAME text or resolve NAME"
        case "@": "cannot read the clock '@ \(body)': write @ HH:MM"
        default: "an empty customer line"
        }
    }
}
