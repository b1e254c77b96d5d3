import Foundation
import KefuCore

/// `kefu explain`: why the bot would do what it does with one message.
enum ExplainCommand {
    static let name = "explain"
    static let summary = "show how one message is normalised, scored and routed"
    static let command = CommandDescription(
        name: name, summary: summary,
        usage: [UsageForm(then: "\"message\"")],
        about: """
        Prints the normalised text, the features, the top candidate entries with the n-grams
        and keywords that contributed, the thresholds, the emotion cues, and the route with
        the rule that chose it.
        """,
        options: [KnowledgeOptions.kb],
        examples: ["kefu explain \"信用卡丢了，急！！\""])
    static var help: String { command.help }

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        guard !args.positionals.isEmpty else {
            throw UsageError(message: "give the message to explain, in quotes.", command: name)
        }
        let kb = try KnowledgeOptions.load(args)
        print(explanation(args.positionals.joined(separator: " "), kb: kb))
        return 0
    }

    static func explanation(_ text: String, kb: KnowledgeBase) -> String {
        let u = kb.understand(text)
        let decision = kb.route(u)
        let t = kb.thresholds
        var out = "message     \(text)\n"
        out += "normalised  \(u.normalized.text)\n"
        out += "features    \(u.ranking.vector.featureCount) distinct n-grams, \(u.ranking.vector.ids.count) known to the knowledge base (\(Int(u.ranking.knownFeatureShare * 100))%)\n\n"
        out += "candidates\n"
        for (rank, c) in u.candidates.prefix(3).enumerated() {
            out += String(format: "  %d. %@  (topic %@)  confidence %.3f\n", rank + 1, c.entryID, c.topic, c.probability)
            let parts = kb.contributions(u, for: c, limit: 8).map { "\($0.feature) \(String(format: "+%.2f", $0.weight))" }
            if !parts.isEmpty { out += "     n-grams: \(parts.joined(separator: ", "))\n" }
            if !c.keywords.isEmpty { out += "     keywords: \(c.keywords.joined(separator: ", "))\n" }
        }
        out += "\nthresholds  answer \(String(format: "%.2f", t.answer)) (entry's own when set), margin \(String(format: "%.2f", t.margin)), out-of-scope floor \(String(format: "%.2f", t.floor)), coverage \(String(format: "%.2f", t.coverage)), hand off at emotion \(t.emotionHandoff.rawValue)\n"
        let cues = u.emotion.cues.map { "\($0.category.rawValue) 「\($0.cue)」 \(String(format: "%.2f", $0.weight))\($0.negated ? " (negated)" : "")" }
            + u.emotion.intensity.map { "intensity \"\($0.0)\" \(String(format: "%.2f", $0.1))" }
        out += String(format: "emotion     %@, score %.2f", u.emotion.level.rawValue, u.emotion.score)
        out += cues.isEmpty ? " (no cues)\n" : ": " + cues.joined(separator: "; ") + "\n"
        if let model = u.handoff, let handoffModel = kb.handoffModel {
            let ranked = model.probabilities.sorted { $0.value > $1.value }.prefix(3).map { "\($0.key) \(String(format: "%.2f", $0.value))" }
            out += "handoff     model: \(ranked.joined(separator: ", ")) (hand off at \(String(format: "%.2f", t.handoffModel)), safety at \(String(format: "%.2f", t.safetyModel)), calm overrides cues at \(String(format: "%.2f", t.calmVeto)))\n"
            let label = model.likeliestReason.map { model.probability($0.reason.rawValue) > model.probability(HandoffModel.calmLabel) ? $0.reason.rawValue : HandoffModel.calmLabel } ?? HandoffModel.calmLabel
            let parts = handoffModel.contributions(u.normalized, to: label).map { "\($0.feature) \(String(format: "+%.2f", $0.weight))" }
            if !parts.isEmpty { out += "            n-grams for \(label): \(parts.joined(separator: ", "))\n" }
        }
        if let acts = kb.acts.read(u.normalized) {
            out += "acts        \(zip(acts.acts, acts.phrases).map { "\($0.rawValue) 「\($1)」" }.joined(separator: " + "))\(acts.rating.map { " (rating \($0))" } ?? ""): the conversation reads these before the classifier\n"
        }
        out += "\nroute       \(decision.route.rawValue)\(decision.reason.map { " (reason: \($0.rawValue))" } ?? "")\n"
        out += "rule        \(decision.rule)"
        return out
    }
}
