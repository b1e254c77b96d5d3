import Foundation

/// How large knowledge files may be. An FAQ entry is a page of text and the shipped knowledge
/// base is under half a megabyte; a file of tens of megabytes is a mistake (a log or a data
/// dump saved under FAQ/), and compiling one took hundreds of megabytes that the server never
/// gave back. Files over the limits are reported as errors before they are read, so a running
/// server refuses the reload and keeps its knowledge base.
public struct KnowledgeLimits: Sendable {
    /// One file under FAQ/ or Intents/.
    public var maxFileBytes = 1 << 20
    /// All of them together.
    public var maxTotalBytes = 16 << 20

    public static let standard = KnowledgeLimits()

    public init() {}

    /// The knowledge files that are too large, or all of them when together they are; an
    /// empty list when none is.
    func check(files: [(path: String, display: String)]) -> [LoadProblem] {
        var problems: [LoadProblem] = []
        var total = 0
        var largest: (display: String, size: Int)?
        for file in files {
            let size = Self.size(of: file.path)
            total += size
            if size > (largest?.size ?? -1) { largest = (file.display, size) }
            if size > maxFileBytes {
                problems.append(LoadProblem(file: file.display, line: 0,
                    "the file is \(Self.describe(size)), over the \(Self.describe(maxFileBytes)) a knowledge file may hold; split it into entries of their own or remove what is not FAQ text"))
            }
        }
        if total > maxTotalBytes, let largest {
            problems.append(LoadProblem(file: largest.display, line: 0,
                "the knowledge files hold \(Self.describe(total)) together, over the \(Self.describe(maxTotalBytes)) a knowledge base may hold; this is the largest (\(Self.describe(largest.size)))"))
        }
        return problems
    }

    static func size(of path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// 1.0 MiB, 512 KiB, 80 bytes.
    static func describe(_ bytes: Int) -> String {
        if bytes >= 1 << 20 { return String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) }
        if bytes >= 1 << 10 { return String(format: "%.0f KiB", Double(bytes) / 1024) }
        return "\(bytes) bytes"
    }
}
