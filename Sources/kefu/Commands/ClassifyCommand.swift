import Foundation
import KefuCore

/// `kefu classify`: one JSON object per input line, for scripts and integrations.
enum ClassifyCommand {
    static let name = "classify"
    static let summary = "classify messages from stdin, one JSON object per line"
    static let command = CommandDescription(
        name: name, summary: summary,
        about: """
        Reads one customer message per line from standard input and prints one JSON object
        per line: text, normalized, intent (topic id or out_of_scope), entry, confidence,
        route (answer, clarify, fallback, handoff), reason, rule, emotion, candidates and, with
        handoff examples, the handoff model's probability per label (handoff).
        A line that is not valid UTF-8 or longer than 4096 bytes gets an object with "error".
        """,
        options: [KnowledgeOptions.kb],
        examples: ["echo '我的卡丢了怎么办' | kefu classify"])
    static var help: String { command.help }

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        if let extra = args.positionals.first {
            throw UsageError(message: "unexpected argument '\(extra)'; messages are read from standard input.", command: name)
        }
        let kb = try KnowledgeOptions.load(args)
        var reader = LineReader(fileDescriptor: 0, maxBytes: 4096)
        var lineNumber = 0
        while let line = reader.next() {
            lineNumber += 1
            switch line {
            case .text(let text):
                if text.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                print(JSONValue.line(classification(text, kb: kb)))
            case .invalidUTF8(let count):
                print(JSONValue.line(["line": lineNumber, "error": "not valid UTF-8 (\(count) bytes); send UTF-8 text"]))
            case .tooLong(let count):
                print(JSONValue.line(["line": lineNumber, "error": "line too long (\(count) bytes, limit 4096)"]))
            }
            flushStandardOutput()
        }
        return 0
    }

    static func classification(_ text: String, kb: KnowledgeBase) -> [String: Any] {
        let u = kb.understand(text)
        let decision = kb.route(u)
        let outOfScope = decision.route == .fallback
        // The entry answered: the closest of the candidates the route stands on (the handoff
        // topics set aside for a calm 「不是投诉，就问下…」); `candidates` lists the classifier's own.
        let answered = decision.candidates?.first ?? u.top
        var object: [String: Any] = [
            "text": text,
            "normalized": u.normalized.text,
            "intent": outOfScope ? KnowledgeBase.outOfScopeTopic : decision.topic ?? u.topic,
            "entry": (outOfScope ? nil : answered?.entryID) ?? NSNull(),
            "confidence": rounded(answered?.probability ?? 0),
            "coverage": rounded(u.ranking.knownFeatureShare),
            "route": decision.route.rawValue,
            "rule": decision.rule,
            "emotion": ["score": rounded(u.emotion.score), "level": u.emotion.level.rawValue,
                        "cues": u.emotion.cues.filter { !$0.negated }.map { "\($0.category.rawValue):\($0.cue)" }],
            "candidates": u.candidates.prefix(3).map { ["entry": $0.entryID, "topic": $0.topic, "confidence": rounded($0.probability)] },
        ]
        if let reason = decision.reason { object["reason"] = reason.rawValue }
        if let handoff = u.handoff {
            object["handoff"] = handoff.probabilities.mapValues { rounded($0) }
        }
        return object
    }

    static func rounded(_ v: Float) -> Double { (Double(v) * 1000).rounded() / 1000 }
}
