import Foundation

/// Reads JSON Lines files of `{"text": …, "label": …}` objects (extra keys are kept for
/// callers that need them, such as `route`).
public enum LabelledFile {
    public struct Problem: Error, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// - Parameter fallbackLabelKey: read when a line has no `labelKey` (topic files may say `label`).
    public static func read(_ path: String, labelKey: String = "label", fallbackLabelKey: String? = nil) throws -> [(example: LabelledText, fields: [String: String])] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem(file: path, line: 0, message: "cannot read the file: check the path and permissions")
        }
        var result: [(LabelledText, [String: String])] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw Problem(file: path, line: lineNumber, message: "not a JSON object; each line must look like {\"text\": \"…\", \"\(labelKey)\": \"…\"}")
            }
            guard let text = object["text"] as? String,
                  let label = (object[labelKey] ?? fallbackLabelKey.flatMap { object[$0] }) as? String else {
                throw Problem(file: path, line: lineNumber, message: "missing \"text\" or \"\(labelKey)\" string")
            }
            var fields: [String: String] = [:]
            for (k, v) in object { if let s = v as? String { fields[k] = s } }
            result.append((LabelledText(text: text, label: label), fields))
        }
        return result
    }
}
