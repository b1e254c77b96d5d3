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

/// One option of one subcommand, declared once: parsing, the "did you mean" suggestion, the
/// `Options:` block of `--help` and the lookups (`args[Self.http]`) all come from it.
struct Option: Sendable {
    let name: String            // "--kb"
    /// The value's placeholder in help (`DIR`, `ADDR:PORT`, `N`); nil for a flag.
    let value: String?
    /// What it does, for help; may run over several lines ("\n").
    let help: String
    /// Shown after the help as "(default: …)"; nil when the help says it or there is none.
    let defaultText: String?
    /// May be given more than once, every value kept in order (`args.all(option)`).
    let repeatable: Bool
    /// Still parsed, only to explain that it is gone; not shown in help.
    let hidden: Bool

    init(_ name: String, value: String? = nil, help: String, default defaultText: String? = nil,
         repeatable: Bool = false, hidden: Bool = false) {
        self.name = name
        self.value = value
        self.help = help
        self.defaultText = defaultText
        self.repeatable = repeatable
        self.hidden = hidden
    }

    var takesValue: Bool { value != nil }
    /// `--kb DIR`, `--json`.
    var synopsis: String { value.map { "\(name) \($0)" } ?? name }
    /// The help with its default.
    var fullHelp: String { help + (defaultText.map { " (default: \($0))" } ?? "") }

    /// The same option described for another command (`--data` holds other things for each).
    func with(help: String, default defaultText: String? = nil) -> Option {
        Option(name, value: value, help: help, default: defaultText, repeatable: repeatable, hidden: hidden)
    }
}

/// One way to call a command, for the `Usage:` lines of its help. Built from the option
/// declarations, so a renamed option or placeholder is renamed in the usage too.
struct UsageForm: Sendable {
    /// Words before the options (`<verb> [arguments]`, `DOCUMENT`).
    let lead: String
    let required: [Option]
    /// Shown in brackets; nil for every shown option of the command's first group that is not required.
    let optional: [Option]?
    /// Words after the options (`"message"`, `[FILE…]`).
    let trail: String

    init(_ lead: String = "", required: [Option] = [], optional: [Option]? = nil, then trail: String = "") {
        self.lead = lead
        self.required = required
        self.optional = optional
        self.trail = trail
    }

    /// The form's words after `kefu NAME`, for the options of `command`.
    func words(in command: CommandDescription) -> [String] {
        let requiredNames = Set(required.map(\.name))
        let bracketed = optional ?? (command.groups.first?.options ?? []).filter { !$0.hidden && !requiredNames.contains($0.name) }
        return [lead].filter { !$0.isEmpty }
            + required.map(\.synopsis)
            + bracketed.map { "[\($0.synopsis)]" + ($0.repeatable ? "..." : "") }
            + [trail].filter { !$0.isEmpty }
    }
}

/// A subcommand's description: its usage forms, prose, options and examples. `help` is
/// generated from it, and `ParsedArguments.parse` parses with its options.
struct CommandDescription: Sendable {
    struct Group: Sendable {
        let title: String       // "Options", "Tuning (judge every change …)"
        let options: [Option]
    }

    let name: String
    let summary: String
    /// The ways to call it: the first after `Usage:`, the others below it.
    let usage: [UsageForm]
    /// The paragraphs between the usage and the options (sections such as `Verbs:` included).
    let about: String
    let groups: [Group]
    let examples: [String]

    init(name: String, summary: String, usage: [UsageForm] = [UsageForm()], about: String, options: [Option],
         more: [Group] = [], examples: [String]) {
        self.name = name
        self.summary = summary
        self.usage = usage
        self.about = about
        self.groups = [Group(title: "Options", options: options)] + more
        self.examples = examples
    }

    /// Every option the command parses, shown or hidden.
    var options: [Option] { groups.flatMap(\.options) }

    /// `kefu <command> --help`.
    var help: String {
        var lines: [String] = []
        lines.append(contentsOf: usageLines)
        lines.append("")
        if !about.isEmpty { lines.append(about); lines.append("") }
        for group in groups {
            let shown = group.options.filter { !$0.hidden }
            guard !shown.isEmpty else { continue }
            lines.append(group.title + ":")
            lines.append(contentsOf: Self.table(shown))
            lines.append("")
        }
        if !examples.isEmpty {
            lines.append(examples.count == 1 ? "Example:" : "Examples:")
            for example in examples {
                lines.append(contentsOf: example.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 })
            }
        } else if lines.last == "" {
            lines.removeLast()
        }
        return lines.joined(separator: "\n")
    }

    /// The `Usage:` lines, each form wrapped at `usageWidth` columns under its first option.
    var usageLines: [String] {
        usage.enumerated().flatMap { i, form -> [String] in
            let start = (i == 0 ? "Usage: kefu " : "       kefu ") + name
            let indent = String(repeating: " ", count: start.count + 1)
            var lines = [start]
            for word in form.words(in: self) {
                if lines[lines.count - 1].count + 1 + word.count > Self.usageWidth && lines[lines.count - 1] != start {
                    lines.append(indent + word)
                } else {
                    lines[lines.count - 1] += " " + word
                }
            }
            return lines
        }
    }
    static let usageWidth = 100

    /// Two aligned columns: the synopsis, then the help with its continuation lines under it.
    static func table(_ options: [Option]) -> [String] {
        let width = options.map(\.synopsis.count).max() ?? 0
        let indent = String(repeating: " ", count: 2 + width + 2)
        return options.flatMap { option -> [String] in
            let help = option.fullHelp.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let first = "  " + option.synopsis.padding(toLength: width + 2, withPad: " ", startingAt: 0) + (help.first ?? "")
            return [first] + help.dropFirst().map { indent + $0 }
        }
    }
}

/// The parsed command line of one subcommand; options are looked up by their declaration. Shared
/// code may look up an option a command does not declare (`--store` for `kefu chat`): it is never given.
struct ParsedArguments {
    private var values: [String: String] = [:]
    /// Every value of each option, in order, for options that may be repeated.
    private var allValues: [String: [String]] = [:]
    private var flags: Set<String> = []
    var positionals: [String] = []

    /// The option's value; the last one when it is given more than once.
    subscript(option: Option) -> String? {
        return values[option.name]
    }
    /// Every value of a repeatable option (`--webhook A --webhook B`), in order.
    func all(_ option: Option) -> [String] {
        return allValues[option.name] ?? []
    }
    /// Whether a flag was given.
    func has(_ option: Option) -> Bool {
        return flags.contains(option.name)
    }

    /// Parses `arguments` against the command's options; an unknown option or a missing value
    /// is a `UsageError` naming the token and, when one is close, the option meant.
    static func parse(_ arguments: [String], for command: CommandDescription) throws -> ParsedArguments {
        let options = command.options
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
                    var message = "unknown option '\(name)' for 'kefu \(command.name)'."
                    let shown = options.filter { !$0.hidden }.map(\.name)
                    if let near = Suggestion.closest(name, among: shown) { message += " Did you mean '\(near)'?" }
                    throw UsageError(message: message, command: command.name)
                }
                if spec.takesValue {
                    if let v = inlineValue {
                        parsed.values[name] = v
                    } else {
                        guard i + 1 < arguments.count else {
                            throw UsageError(message: "option '\(name)' needs a value.", command: command.name)
                        }
                        parsed.values[name] = arguments[i + 1]
                        i += 1
                    }
                    parsed.allValues[name, default: []].append(parsed.values[name]!)
                } else {
                    if inlineValue != nil { throw UsageError(message: "option '\(name)' takes no value.", command: command.name) }
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

/// Standard error, for diagnostics; standard output stays for results. Diagnostics quote what customers
/// and agents typed, so numbers are masked and control characters cleaned here.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((LineSanitizer.diagnostic(text) + "\n").utf8))
}

/// Flushes standard output so a program reading our replies line by line sees each at once.
func flushStandardOutput() {
    fflush(nil)
}
