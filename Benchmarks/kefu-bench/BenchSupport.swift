import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

/// What every `kefu-bench` mode needs around its measurement: descriptors, the binaries
/// beside it, the shipped knowledge base's routine messages, and one way to fail.
enum Bench {
    /// Thousands of connections need thousands of descriptors: the soft limit goes to the hard one.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// A program built beside `kefu-bench` (`kefu`, and `kefu-bench` itself for the floor servers).
    static func sibling(_ name: String) -> URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    }

    /// The messages of a labelled file that the knowledge base answers (not greetings, thanks
    /// or goodbyes), one line each: what customers send most. `jsonSafe` also leaves out
    /// those with a quote or backslash, for benchmarks that write them into JSON unescaped.
    static func routineTexts(_ file: String, jsonSafe: Bool = false) throws -> [String] {
        try LabelledFile.read(file, labelKey: "text").filter {
            $0.fields["route"] == "answer" && !["greeting", "thanks", "goodbye"].contains($0.fields["topic"] ?? "")
        }.map(\.example.text).filter { !$0.contains("\n") && (!jsonSafe || !$0.contains("\"") && !$0.contains("\\")) }
    }

    /// Runs a benchmark; an error is printed as `Error: …` and the process exits 1.
    static func run(_ body: () throws -> Void) {
        do {
            try body()
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            exit(1)
        }
    }

    /// A figure line: `name` padded so the columns of one benchmark line up.
    static func figures(_ name: String, _ r: LoadResult) -> String {
        String(format: "%@  %d/%d answered, %.0f msg/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms, errors %d",
               name.padding(toLength: 15, withPad: " ", startingAt: 0), r.answered, r.sent, r.rate, r.p50, r.p99, r.latenciesMs.last ?? 0, r.errors)
    }
}

/// A failure of the benchmark's own client: a server that answered something unexpected.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
