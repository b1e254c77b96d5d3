import Foundation
import KefuCore

/// A mistake in how the command was called: printed as `Error: …` and exit code 64.
struct UsageError: Error {
    let message: String
    let command: String
}

/// A failure while doing the work (a file that cannot be read, a broken knowledge base):
/// printed as `Error: …` and exit code 1.
struct CommandFailure: Error {
    let message: String
}

/// Options of one subcommand, declared once: used for parsing, suggestions and help.
struct OptionSpec {
    let name: String          // "--kb"
    let takesValue: Bool
}

/// The parsed command line of one subcommand.
struct ParsedArguments {
    var values: [String: String] = [:]
    /// Every value of each option, in order, for options that may be repeated.
    var allValues: [String: [String]] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []

    /// The option's value; the last one when it is given more than once.
    func value(_ name: String) -> String? { values[name] }
    /// Every value of a repeatable option (`--webhook A --webhook B`), in order.
    func repeated(_ name: String) -> [String] { allValues[name] ?? [] }
    func has(_ name: String) -> Bool { flags.contains(name) }

    /// Parses `arguments` against `options`; an unknown option or a missing value is a
    /// `UsageError` naming the token and, when one is close, the option meant.
    static func parse(_ arguments: [String], options: [OptionSpec], command: String) throws -> ParsedArguments {
        var parsed = ParsedArguments()
        var i = 0
        while i < arguments.count {
            let token = arguments[i]
            if token == "--" {
                parsed.positionals.append(contentsOf: arguments[(i + 1)...])
                break
            }
            if token.hasPrefix("-") && token.count > 1 && Double(token) == nil {
                var name = token
                var inlineValue: String?
                if let eq = token.firstIndex(of: "=") {
                    name = String(token[..<eq])
                    inlineValue = String(token[token.index(after: eq)...])
                }
                guard let spec = options.first(where: { $0.name == name }) else {
                    var message = "unknown option '\(name)' for 'kefu \(command)'."
                    if let near = closest(name, among: options.map(\.name)) { message += " Did you mean '\(near)'?" }
                    throw UsageError(message: message, command: command)
                }
                if spec.takesValue {
                    if let v = inlineValue {
                        parsed.values[name] = v
                    } else {
                        guard i + 1 < arguments.count else {
                            throw UsageError(message: "option '\(name)' needs a value.", command: command)
                        }
                        parsed.values[name] = arguments[i + 1]
                        i += 1
                    }
                    parsed.allValues[name, default: []].append(parsed.values[name]!)
                } else {
                    if inlineValue != nil { throw UsageError(message: "option '\(name)' takes no value.", command: command) }
                    parsed.flags.insert(name)
                }
            } else {
                parsed.positionals.append(token)
            }
            i += 1
        }
        return parsed
    }
}

/// The candidate nearest to `word` by edit distance, if it is near enough to be a typo.
func closest(_ word: String, among candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
    guard let best = scored, best.1 <= max(2, word.count / 3) else { return nil }
    return best.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// Standard error, for diagnostics; standard output stays for results. Diagnostics quote what customers
/// and agents typed, so numbers are masked and control characters cleaned here.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((LineSanitizer.diagnostic(text) + "\n").utf8))
}

/// Flushes standard output so a program reading our replies line by line sees each at once.
func flushStandardOutput() {
    fflush(nil)
}
