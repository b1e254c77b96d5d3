import Foundation

/// The one JSON writer for text that is written often (events, replies, HTTP bodies): bytes
/// appended in place, keys in the order given, no `JSONSerialization` (its dictionaries and
/// locale-aware sorting were a third of the engine's time in a burst).

/// Writes one flat JSON object, keys in the order given, into a byte buffer.
struct JSONObjectWriter {
    private var out: [UInt8]

    init() {
        out = [0x7B]
        out.reserveCapacity(320)
    }

    private mutating func key(_ k: StaticString) {
        if out.count > 1 { out.append(0x2C) }
        out.append(0x22)
        out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
        out.append(0x22)
        out.append(0x3A)
    }

    mutating func add(_ k: StaticString, _ value: String?) {
        guard let value else { return }
        key(k)
        JSONText.appendQuoted(value, to: &out)
    }

    mutating func add(_ k: StaticString, _ value: Double?) {
        guard let value, value.isFinite else { return }
        addLiteral(k, String(value))
    }

    /// A number or boolean, written as is.
    mutating func addLiteral(_ k: StaticString, _ literal: String) {
        key(k)
        out.append(contentsOf: literal.utf8)
    }

    mutating func finish() -> [UInt8] {
        out.append(0x7D)
        return out
    }
}

/// JSON string quoting, on UTF-8 bytes: most strings need no escaping at all.
public enum JSONText {
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { bytes in
            if !bytes.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }) {
                out.append(0x22)
                out.append(contentsOf: bytes)
                out.append(0x22)
            } else {
                out.append(contentsOf: quoted(String(decoding: bytes, as: UTF8.self)).utf8)
            }
        }
    }

    /// `s` as a JSON string literal.
    public static func quoted(_ s: String) -> String {
        var s = s
        return s.withUTF8 { bytes -> String in
            if !bytes.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }) {
                var out = [UInt8](repeating: 0x22, count: bytes.count + 2)
                out.withUnsafeMutableBufferPointer { o in _ = UnsafeMutableBufferPointer(rebasing: o[1..<(bytes.count + 1)]).initialize(from: bytes) }
                return String(decoding: out, as: UTF8.self)
            }
            var out: [UInt8] = [0x22]
            out.reserveCapacity(bytes.count + 16)
            let hex = Array("0123456789abcdef".utf8)
            for b in bytes {
                switch b {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += [0x5C, 0x6E]
                case 0x0D: out += [0x5C, 0x72]
                case 0x09: out += [0x5C, 0x74]
                case 0..<0x20: out += [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]]
                default: out.append(b)
                }
            }
            out.append(0x22)
            return String(decoding: out, as: UTF8.self)
        }
    }
}

/// Dictionaries and arrays of plain values (strings, integers, doubles, booleans, `NSNull`)
/// written as JSON with keys in byte order, without Foundation: `JSONSerialization` with sorted
/// keys compares keys with locale-aware string comparison and was half of the engine's time on
/// the HTTP channel. Nil for a value of another type, so the caller can fall back.
public enum JSONValue {
    /// One JSON object or array on one line, keys sorted (U+2028, U+2029 and C1 controls
    /// escaped): every machine-readable line kefu prints or sends.
    public static func line(_ object: Any) -> String {
        if let bytes = encode(object) { return LineSanitizer.escapingJSON(String(decoding: bytes, as: UTF8.self)) }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return LineSanitizer.escapingJSON(String(decoding: data, as: UTF8.self))
    }

    static func encode(_ value: Any) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        return append(value, to: &out) ? out : nil
    }

    private static func append(_ value: Any, to out: inout [UInt8]) -> Bool {
        switch value {
        case let s as String:
            JSONText.appendQuoted(s, to: &out)
        case let b as Bool:
            out.append(contentsOf: (b ? "true" : "false").utf8)
        case let n as Int:
            out.append(contentsOf: String(n).utf8)
        case let d as Double:
            guard d.isFinite else { return false }
            out.append(contentsOf: (d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)).utf8)
        case is NSNull:
            out.append(contentsOf: "null".utf8)
        case let array as [Any]:
            out.append(0x5B)
            for (n, element) in array.enumerated() {
                if n > 0 { out.append(0x2C) }
                guard append(element, to: &out) else { return false }
            }
            out.append(0x5D)
        case let object as [String: Any]:
            out.append(0x7B)
            for (n, key) in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if n > 0 { out.append(0x2C) }
                JSONText.appendQuoted(key, to: &out)
                out.append(0x3A)
                guard append(object[key]!, to: &out) else { return false }
            }
            out.append(0x7D)
        default:
            return false
        }
        return true
    }
}
