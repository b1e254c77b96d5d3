import Foundation

/// A text file split into numbered lines, read strictly: invalid UTF-8 is reported with
/// its line instead of being silently replaced, because an editor needs to find and fix it.
struct TextLines {
    let path: String
    let lines: [String]

    static func read(_ path: String, displayPath: String, problems: inout [LoadProblem]) -> TextLines? {
        guard let data = FileManager.default.contents(atPath: path) else {
            problems.append(LoadProblem(file: displayPath, line: 0, "cannot read the file; check that it exists and is readable"))
            return nil
        }
        var lines: [String] = []
        var number = 0
        var bytes = Array(data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // a BOM from Windows editors
        for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            var slice = raw
            if slice.last == 0x0D { slice = slice.dropLast() }
            guard let line = String(validating: slice, as: UTF8.self) else {
                problems.append(LoadProblem(file: displayPath, line: number, "the line is not valid UTF-8; save the file as UTF-8"))
                lines.append("")
                continue
            }
            if line.unicodeScalars.contains(where: { $0.value == 0 }) {
                problems.append(LoadProblem(file: displayPath, line: number, "the line contains a NUL byte; is this a binary file?"))
                lines.append("")
                continue
            }
            lines.append(line)
        }
        if lines.last == "" { lines.removeLast() }
        return TextLines(path: displayPath, lines: lines)
    }
}

extension Unicode.Scalar {
    /// A tab or a space separator (U+0020, U+3000, U+00A0 …).
    var isLineSpace: Bool { value == 9 || properties.generalCategory == .spaceSeparator }
}

extension String {
    /// The string without leading and trailing spaces and tabs (the same set as
    /// `CharacterSet.whitespaces`: tab and every space separator, full-width too).
    ///
    /// Written on the scalars rather than with `trimmingCharacters(in:)`, which bridges
    /// through `NSString`: the loader trims every line of the knowledge files, and that
    /// bridging was 7% of a compile's samples (`perf record`).
    var trimmed: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isLineSpace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.isLineSpace })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return self }
        return String(scalars[first...last])
    }

    /// Splits `key: value` at the first ASCII or full-width colon.
    func splitKeyValue() -> (key: String, value: String)? {
        guard let colon = firstIndex(where: { $0 == ":" || $0 == "：" }) else { return nil }
        return (String(self[..<colon]).trimmed, String(self[index(after: colon)...]).trimmed)
    }

    /// The line without a trailing `  # comment`.
    var withoutComment: String {
        if hasPrefix("#") { return "" }
        if let range = firstRange(of: " #") { return String(self[..<range.lowerBound]) }
        return self
    }

    /// Comma-separated items (ASCII, full-width and ideographic commas), trimmed, empty ones dropped.
    var commaList: [String] {
        split(whereSeparator: { $0 == "," || $0 == "，" || $0 == "、" }).map { String($0).trimmed }.filter { !$0.isEmpty }
    }
}
