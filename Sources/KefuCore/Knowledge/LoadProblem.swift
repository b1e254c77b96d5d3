/// One thing wrong in the knowledge files, located to the line.
public struct LoadProblem: Error, Sendable, Equatable, CustomStringConvertible, Comparable {
    public enum Severity: String, Sendable { case error, warning }
    public let file: String
    public let line: Int
    public let message: String
    public let severity: Severity

    public init(file: String, line: Int, _ message: String, severity: Severity = .error) {
        self.file = file
        self.line = line
        self.message = message
        self.severity = severity
    }

    /// `file:line: message`, the form editors and their editors' jump-to-line understand.
    public var description: String { "\(file):\(line): \(message)" }

    public static func < (a: LoadProblem, b: LoadProblem) -> Bool {
        (a.file, a.line, a.message) < (b.file, b.line, b.message)
    }
}

/// Loading refused to build a knowledge base; `problems` says every reason, not just the first.
public struct KnowledgeLoadError: Error, Sendable, CustomStringConvertible {
    public let problems: [LoadProblem]
    public var description: String {
        problems.map(\.description).joined(separator: "\n")
            + "\n\(problems.count) problem\(problems.count == 1 ? "" : "s") in the knowledge files; the knowledge base was not built."
    }
}
