/// One problem `kefu lint` found, located to the line, with the rule that found it.
public struct LintFinding: Sendable, Equatable, Comparable, CustomStringConvertible {
    public typealias Severity = LoadProblem.Severity

    public let file: String
    public let line: Int
    public let severity: Severity
    public let rule: LintRule
    public let message: String

    public init(file: String, line: Int, severity: Severity, rule: LintRule, _ message: String) {
        self.file = file
        self.line = line
        self.severity = severity
        self.rule = rule
        self.message = message
    }

    /// `file:line: severity: message [rule]`, the form compilers use, so editors jump to the line.
    public var description: String { "\(file):\(line): \(severity.rawValue): \(message) [\(rule.rawValue)]" }

    public var dictionary: [String: Any] {
        ["file": file, "line": line, "severity": severity.rawValue, "rule": rule.rawValue, "message": message]
    }

    public static func < (a: LintFinding, b: LintFinding) -> Bool {
        (a.file, a.line, a.rule.rawValue, a.message) < (b.file, b.line, b.rule.rawValue, b.message)
    }
}

/// The checks `kefu lint` runs, each with a stable id shown after every finding.
public enum LintRule: String, Sendable, CaseIterable {
    /// What the loader itself reports: syntax, missing fields, unknown topics or related entries.
    case load
    case duplicateID = "duplicate_id"
    case idFileName = "id_file_name"
    case duplicatePhrasing = "duplicate_phrasing"
    case shadowed
    case confusable
    case keywordConflict = "keyword_conflict"
    case fewPhrasings = "few_phrasings"
    case unknownPlaceholder = "unknown_placeholder"
    case emptyTopic = "empty_topic"
    case mixedScript = "mixed_script"
    case longAnswer = "long_answer"

    /// One line for `kefu lint --help`.
    public var summary: String {
        switch self {
        case .load: "syntax, missing or unknown fields, unknown topics and related entries (error)"
        case .duplicateID: "two entries with the same id (error)"
        case .idFileName: "an id that differs from its file name (warning)"
        case .duplicatePhrasing: "the same phrasing, after normalisation, in two entries (error) or twice in one (warning)"
        case .shadowed: "most of an entry's phrasings go to another entry in cross-validation; names the winner (warning)"
        case .confusable: "two entries the classifier confuses: ≥ 30% of one's phrasings go to the other (warning)"
        case .keywordConflict: "keywords that pull against each other or against the entry's own phrasings (warning)"
        case .fewPhrasings: "fewer than 6 phrasings (warning)"
        case .unknownPlaceholder: "an answer refers to a {key} missing from Intents/company.txt (error)"
        case .emptyTopic: "a topic in Intents/topics.txt without any entry (warning)"
        case .mixedScript: "traditional and simplified characters in one answer (warning)"
        case .longAnswer: "an answer longer than a chat bubble: over 200 characters with placeholders filled (warning)"
        }
    }
}
