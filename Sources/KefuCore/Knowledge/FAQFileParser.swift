/// Parses one `FAQ/<topic>/<id>.md` file: `---` front matter, then `## Questions` and
/// `## Answers` sections. Reports every problem it finds with its line and keeps going,
/// so an editor sees all mistakes of a file at once.
enum FAQFileParser {
    static let knownKeys: Set<String> = ["id", "topic", "related", "boost", "require", "exclude", "threshold", "handoff", "draft"]

    static func parse(_ text: TextLines, problems: inout [LoadProblem]) -> FAQEntry? {
        let file = text.path
        let lines = text.lines
        guard let first = lines.firstIndex(where: { !$0.trimmed.isEmpty }), lines[first].trimmed == "---" else {
            problems.append(LoadProblem(file: file, line: 1, "an FAQ file must start with a `---` front matter block (id, topic …); see docs/KNOWLEDGE-FORMAT.md"))
            return nil
        }
        guard let close = lines[(first + 1)...].firstIndex(where: { $0.trimmed == "---" }) else {
            problems.append(LoadProblem(file: file, line: first + 1, "the front matter is not closed: add a `---` line after the last key"))
            return nil
        }
        var entry = FAQEntry(id: "", topic: "", file: file, line: first + 1)
        for index in (first + 1)..<close {
            let number = index + 1
            let line = lines[index].withoutComment.trimmed
            if line.isEmpty { continue }
            guard let (key, value) = line.splitKeyValue() else {
                problems.append(LoadProblem(file: file, line: number, "expected `key: value` in the front matter, found '\(line.prefix(40))'"))
                continue
            }
            guard knownKeys.contains(key) else {
                var message = "unknown front matter key '\(key)'"
                if let near = Suggestion.closest(key, among: knownKeys.sorted()) { message += "; did you mean '\(near)'?" }
                problems.append(LoadProblem(file: file, line: number, message))
                continue
            }
            if entry.keyLines[key] != nil {
                problems.append(LoadProblem(file: file, line: number, "'\(key)' is set twice in the front matter"))
            }
            entry.keyLines[key] = number
            switch key {
            case "id":
                entry.id = value
                entry.line = number
                if value.isEmpty || !value.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) {
                    problems.append(LoadProblem(file: file, line: number, "id '\(value)' must use only a-z, 0-9 and _"))
                }
            case "topic": entry.topic = value
            case "related": entry.related = value.commaList
            case "boost": entry.boost = keywords(value, line: number, file: file, weighted: true, problems: &problems)
            case "require": entry.require = keywords(value, line: number, file: file, weighted: false, problems: &problems)
            case "exclude": entry.exclude = keywords(value, line: number, file: file, weighted: false, problems: &problems)
            case "threshold":
                if let t = Float(value), t > 0, t <= 1 { entry.threshold = t }
                else { problems.append(LoadProblem(file: file, line: number, "threshold '\(value)' must be a number between 0 and 1, such as 0.5")) }
            case "handoff":
                if let reason = HandoffReason(rawValue: value.lowercased()), Self.entryReasons.contains(reason) {
                    entry.alwaysHandOff = true
                    entry.handoffReason = reason
                } else if let flag = Self.flag(value) {
                    entry.alwaysHandOff = flag
                } else {
                    let reasons = HandoffReason.allCases.filter(Self.entryReasons.contains).map(\.rawValue).joined(separator: ", ")
                    problems.append(LoadProblem(file: file, line: number, "'handoff' must be true, false or a reason (\(reasons)), not '\(value)'"))
                }
            case "draft":
                guard let flag = Self.flag(value) else {
                    problems.append(LoadProblem(file: file, line: number, "'\(key)' must be true or false, not '\(value)'"))
                    continue
                }
                entry.isDraft = flag
            default: break
            }
        }
        if entry.keyLines["id"] == nil { problems.append(LoadProblem(file: file, line: first + 1, "the front matter has no `id:`")) }
        if entry.keyLines["topic"] == nil { problems.append(LoadProblem(file: file, line: first + 1, "the front matter has no `topic:`")) }

        parseBody(lines, from: close + 1, into: &entry, problems: &problems)
        return entry
    }

    private enum Part { case none, questions, answers, englishAnswers, followUps }

    private static func parseBody(_ lines: [String], from start: Int, into entry: inout FAQEntry, problems: inout [LoadProblem]) {
        var part = Part.none
        var paragraph: [String] = []
        var paragraphLine = 0
        func flushAnswer() {
            if !paragraph.isEmpty {
                let answer = FAQEntry.Line(text: paragraph.joined(separator: "\n"), line: paragraphLine)
                if part == .englishAnswers { entry.englishAnswers.append(answer) } else { entry.answers.append(answer) }
            }
            paragraph = []
        }
        for index in start..<max(start, lines.count) {
            let number = index + 1
            let line = lines[index].trimmed
            if line.hasPrefix("#") {
                flushAnswer()
                let heading = String(line.drop(while: { $0 == "#" })).trimmed.lowercased()
                switch heading {
                case "questions", "问题", "問題": part = .questions
                case "answers", "answer", "答案", "回答": part = .answers
                case "answers (en)", "answer (en)", "english answers", "english answer": part = .englishAnswers
                case "follow-ups", "follow ups", "followups", "追问": part = .followUps
                default:
                    problems.append(LoadProblem(file: entry.file, line: number, "unknown section '\(line)'; use `## Questions`, `## Answers`, `## Answers (en)` or `## Follow-ups`"))
                    part = .none
                }
                continue
            }
            switch part {
            case .none:
                if !line.isEmpty {
                    problems.append(LoadProblem(file: entry.file, line: number, "text outside `## Questions` / `## Answers`"))
                }
            case .questions:
                if line.isEmpty { continue }
                if line.hasPrefix("- ") || line.hasPrefix("* ") {
                    let question = String(line.dropFirst(2)).trimmed
                    if !question.isEmpty { entry.questions.append(.init(text: question, line: number)) }
                } else {
                    problems.append(LoadProblem(file: entry.file, line: number, "each question must be a `- ` list line"))
                }
            case .followUps:
                if line.isEmpty { continue }
                guard line.hasPrefix("- ") || line.hasPrefix("* "), let (cues, answer) = String(line.dropFirst(2)).trimmed.splitKeyValue(),
                      !cues.commaList.isEmpty, !answer.isEmpty else {
                    problems.append(LoadProblem(file: entry.file, line: number, "a follow-up is `- cue, cue: answer` (the words that ask it, then the short answer)"))
                    continue
                }
                let (chinese, english) = Self.splitEnglish(answer)
                guard !chinese.isEmpty, english.map({ !$0.isEmpty }) ?? true else {
                    problems.append(LoadProblem(file: entry.file, line: number, "a follow-up's English answer goes after its Chinese one: `- cue, cue: 答案 | en: answer`"))
                    continue
                }
                entry.followUps.append(.init(cues: cues.commaList, answer: chinese, englishAnswer: english, line: number))
            case .answers, .englishAnswers:
                if line.isEmpty { flushAnswer() } else {
                    if paragraph.isEmpty { paragraphLine = number }
                    paragraph.append(line)
                }
            }
        }
        flushAnswer()
        if entry.questions.isEmpty { problems.append(LoadProblem(file: entry.file, line: entry.line, "the entry has no questions; add a `## Questions` list")) }
        if entry.answers.isEmpty { problems.append(LoadProblem(file: entry.file, line: entry.line, "the entry has no answer; add an `## Answers` section")) }
    }

    /// The reasons an entry may name in `handoff:`: those the handoff model learns (the
    /// dialogue's own, not helped and repeated failure, are no question a customer asks).
    static let entryReasons = Set(HandoffReason.allCases.filter { HandoffModel.labels.contains($0.rawValue) })

    private static func flag(_ value: String) -> Bool? {
        ["true": true, "yes": true, "false": false, "no": false][value.lowercased()]
    }

    /// `keyword weight, keyword weight`: the weight is optional (default 1) and is the last
    /// space-separated token when it is a number, so multi-word keywords keep their weight
    /// (`it would be great 1`).
    private static func keywords(_ value: String, line: Int, file: String, weighted: Bool, problems: inout [LoadProblem]) -> [FAQEntry.Keyword] {
        value.commaList.compactMap { item in
            var parts = item.split(separator: " ").map(String.init)
            var weight: Float = 1
            if weighted, parts.count >= 2, let w = Float(parts[parts.count - 1]) {
                weight = w
                parts.removeLast()
            }
            let word = parts.joined(separator: " ")
            guard !word.isEmpty else {
                problems.append(LoadProblem(file: file, line: line, "empty keyword in '\(item)'"))
                return nil
            }
            return FAQEntry.Keyword(word: word, weight: weight, line: line)
        }
    }

    /// A follow-up's answer and its English answer, written `答案 | en: answer` on one line.
    static func splitEnglish(_ answer: String) -> (chinese: String, english: String?) {
        guard let bar = answer.firstRange(of: "| en:") ?? answer.firstRange(of: "|en:") else { return (answer, nil) }
        return (String(answer[..<bar.lowerBound]).trimmed, String(answer[bar.upperBound...]).trimmed)
    }
}
