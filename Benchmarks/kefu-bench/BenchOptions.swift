import Foundation

/// The options of one `kefu-bench` mode, all `--name value` pairs. A wrong token prints the
/// mode's usage and exits 64, as `kefu` does.
struct BenchOptions {
    private var values: [String: String]
    private let usage: String

    /// - Parameter defaults: every option the mode takes, with its default ("" for none).
    init(_ arguments: [String], defaults: [String: String], usage: String) {
        values = defaults.filter { !$0.value.isEmpty }
        self.usage = usage
        var rest = arguments[...]
        while let token = rest.popFirst() {
            if token == "--help" || token == "-h" { print(usage); exit(0) }
            guard defaults[token] != nil else { Self.fail("unknown argument '\(token)'", usage) }
            guard let value = rest.popFirst() else { Self.fail("\(token) needs a value", usage) }
            values[token] = value
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    /// The option's value (or default) as a whole number; anything else prints the usage and
    /// exits 64, rather than measuring something else than was asked.
    func int(_ name: String) -> Int {
        guard let text = values[name], let value = Int(text) else { Self.fail("\(name) takes a whole number, not '\(values[name] ?? "")'", usage) }
        return value
    }

    /// The option's value (or default) as a number; anything else prints the usage and exits 64.
    func double(_ name: String) -> Double {
        guard let text = values[name], let value = Double(text) else { Self.fail("\(name) takes a number, not '\(values[name] ?? "")'", usage) }
        return value
    }

    private static func fail(_ message: String, _ usage: String) -> Never {
        FileHandle.standardError.write(Data("Error: \(message)\n\(usage)\n".utf8))
        exit(64)
    }
}
