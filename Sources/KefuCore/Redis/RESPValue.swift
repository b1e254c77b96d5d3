/// One reply from Redis, in the types of its protocol (RESP2, and the RESP3 types a `HELLO 3`
/// connection can receive).
///
/// Strings that may hold any bytes (bulk strings, verbatim text) keep them as bytes: values
/// written by `SET` come back exactly as they went in, which decoding to `String` would not
/// promise. Lines (simple strings, errors) cannot hold CR or LF and are kept as text.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`: a status line.
    case simpleString(String)
    /// `-ERR …` (and RESP3 `!` blob errors): the command failed; the text starts with a code
    /// such as `ERR`, `WRONGTYPE`, `NOSCRIPT`.
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$5 hello`: binary-safe bytes.
    case bulkString([UInt8])
    /// RESP2 `$-1` and `*-1`, RESP3 `_`: no value (a missing key, a timed-out pop).
    case null
    /// `*N`
    case array([RESPValue])

    /// RESP3 `,3.14` (also `inf`, `-inf`, `nan`).
    case double(Double)
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `(` an integer too large for 64 bits, kept as its decimal text.
    case bigNumber(String)
    /// RESP3 `=`: text with a three-letter format (`txt`, `mkd`), as `INFO` or `LATENCY DOCTOR` send it.
    case verbatim(format: String, text: [UInt8])
    /// RESP3 `%N`: key–value pairs in the order the server sent them.
    case map([Pair])
    /// RESP3 `~N`
    case set([RESPValue])
    /// RESP3 `>N`: out-of-band data (pub/sub messages, invalidations), not a reply to a command.
    case push([RESPValue])

    /// One entry of a RESP3 map.
    public struct Pair: Sendable, Hashable {
        public let key: RESPValue
        public let value: RESPValue

        public init(key: RESPValue, value: RESPValue) {
            self.key = key
            self.value = value
        }
    }
}

extension RESPValue {
    /// The value as text: simple, bulk and verbatim strings; nil for other types and for
    /// bytes that are not UTF-8 (use `bytes` for those).
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes), .verbatim(_, let bytes): String(validating: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The value as bytes: bulk, simple and verbatim strings.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes), .verbatim(_, let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The value as a number: integers, and strings holding a decimal integer, because Redis
    /// answers `GET counter` with the bulk string `"5"` even after `INCR`.
    public var integer: Int64? {
        switch self {
        case .integer(let number): number
        case .bulkString, .simpleString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array, set or push.
    public var array: [RESPValue]? {
        switch self {
        case .array(let items), .set(let items), .push(let items): items
        default: nil
        }
    }

    /// Key–value pairs from a RESP3 map or from the flat, even-length array RESP2 sends for
    /// the same command (`HGETALL`, `CONFIG GET`), so callers read both protocols alike.
    public var pairs: [Pair]? {
        switch self {
        case .map(let pairs): return pairs
        case .array(let items) where items.count % 2 == 0:
            return stride(from: 0, to: items.count, by: 2).map { Pair(key: items[$0], value: items[$0 + 1]) }
        default: return nil
        }
    }

    /// The value under a text key of a map (or flat key–value array).
    public subscript(key: String) -> RESPValue? {
        pairs?.first { $0.key.string == key }?.value
    }

    public var isNull: Bool { self == .null }

    /// The text of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { message } else { nil }
    }

    /// The value itself, or the error reply thrown as a `RedisError` (`noScript` for
    /// `NOSCRIPT`, `server` for the rest): pipelines return error replies in place, and this
    /// is how a caller turns one into a throw.
    public func checked() throws(RedisError) -> RESPValue {
        guard case .error(let message) = self else { return self }
        throw RedisError.reply(message)
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short, readable form for logs and test failures (bytes shown as escaped text).
    public var description: String {
        switch self {
        case .simpleString(let text): return "+\(text)"
        case .error(let message): return "-\(message)"
        case .integer(let number): return ":\(number)"
        case .bulkString(let bytes): return "\"" + String(decoding: bytes, as: UTF8.self).debugEscaped + "\""
        case .null: return "(null)"
        case .array(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .double(let number): return ",\(number)"
        case .boolean(let flag): return flag ? "#t" : "#f"
        case .bigNumber(let digits): return "(\(digits)"
        case .verbatim(let format, let text): return "=\(format):" + String(decoding: text, as: UTF8.self).debugEscaped
        case .map(let pairs): return "{" + pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .set(let items): return "~[" + items.map(\.description).joined(separator: ", ") + "]"
        case .push(let items): return ">[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

private extension String {
    var debugEscaped: String {
        unicodeScalars.map { $0.escaped(asASCII: false) }.joined()
    }
}
