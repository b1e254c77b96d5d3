import Foundation

/// The options of one `kefu-bench` mode, all `--name value` pairs. A wrong token prints the
/// mode's usage and exits 64, as `kefu` does.
struct BenchOptions {
    private var values: [String: String]

    /// - Parameter defaults: every option the mode takes, with its default ("" for none).
    init(_ arguments: [String], defaults: [String: String], usage: String) {
        values = defaults.filter { !$0.value.isEmpty }
        var rest = arguments[...]
        while let token = rest.popFirst() {
            if token == "--help" || token == "-h" { print(usage); exit(0) }
            guard defaults[token] != nil else { Self.fail("unknown argument '\(token)'", usage) }
            guard let value = rest.popFirst() else { Self.fail("\(token) needs a value", usage) }
            values[token] = value
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    private static func fail(_ message: String, _ usage: String) -> Never {
        FileHandle.standardError.write(Data("Error: \(message)\n\(usage)\n".utf8))
        exit(64)
    }
}
