/// Turns the bytes a Redis server sends into `RESPValue`s, however the bytes are cut.
///
/// Incremental: `append` whatever a read returned, then call `next()` until it returns nil
/// ("need more bytes"). A half-read array is kept on a stack of open aggregates and a line
/// that has no end yet is not scanned again, so feeding a reply one byte at a time costs the
/// same as feeding it whole. Bytes that can never become RESP (an unknown type byte, a
/// length that is not a number, a missing CRLF, anything over `RESPLimits`) throw
/// `RedisError.protocolError` at once; after that the stream is out of step for good, every
/// later call throws the same error, and the owner must drop the connection.
///
/// RESP2 and RESP3 are read alike. RESP3 attributes (`|`) are read and dropped, as the
/// protocol allows; streamed strings and aggregates (`$?`, `*?`), which Redis never sends,
/// are refused.
public struct RESPParser: Sendable {
    public let limits: RESPLimits

    private var buffer: [UInt8] = []
    /// The first byte not yet consumed.
    private var position = 0
    /// Where to resume looking for the CRLF of the line that starts at `position`.
    private var scanned = 0
    /// Bytes dropped from the front of `buffer`, so errors can say where in the stream they are.
    private var dropped = 0
    /// A bulk string whose header is read and whose body has not fully arrived.
    private var pendingBulk: (kind: UInt8, length: Int)?
    /// Aggregates opened and not yet complete, outermost first.
    private var open: [Frame] = []
    private var failure: RedisError?

    private struct Frame {
        let kind: UInt8
        /// Elements still to read (two per map pair).
        var remaining: Int
        var items: [RESPValue]
    }

    public init(limits: RESPLimits = RESPLimits()) {
        self.limits = limits
    }

    /// Bytes received and not yet turned into a complete value.
    public var bufferedByteCount: Int { buffer.count - position }

    /// Whether a value is partly read (bytes buffered or an aggregate open).
    public var isMidValue: Bool { bufferedByteCount > 0 || !open.isEmpty || pendingBulk != nil }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// The next complete value, or nil when more bytes are needed.
    public mutating func next() throws(RedisError) -> RESPValue? {
        if let failure { throw failure }
        do {
            return try parse()
        } catch {
            failure = error
            throw error
        }
    }

    // MARK: - Parsing

    private mutating func parse() throws(RedisError) -> RESPValue? {
        while true {
            let value: RESPValue
            if let bulk = pendingBulk {
                guard let body = try bulkBody(length: bulk.length) else { return nil }
                pendingBulk = nil
                value = try bulkValue(kind: bulk.kind, body)
            } else {
                guard let (kind, line) = try nextLine() else { return nil }
                guard let simple = try header(kind: kind, line: line) else { continue }
                value = simple
            }
            if let complete = close(with: value) { return complete }
        }
    }

    /// Reads what follows a type byte's line: a whole value, or nil when the line only opened
    /// something (a bulk string's body, an aggregate's elements) that later bytes complete.
    private mutating func header(kind: UInt8, line: Range<Int>) throws(RedisError) -> RESPValue? {
        switch kind {
        case Byte.simpleString:
            return .simpleString(text(line))
        case Byte.simpleError:
            return .error(text(line))
        case Byte.integer:
            guard let number = integer(line, signs: true) else {
                throw malformed("integer reply \(quoted(line)) is not a 64-bit integer", at: line.lowerBound - 1)
            }
            return .integer(number)
        case Byte.bulkString, Byte.blobError, Byte.verbatim:
            let length = try length(line, kind: kind, limit: limits.maxBulkLength, what: "bulk string", unit: "bytes")
            if length < 0 { return .null }
            pendingBulk = (kind, length)
            return nil
        case Byte.array, Byte.set, Byte.push, Byte.map, Byte.attribute:
            let count = try length(line, kind: kind, limit: limits.maxArrayCount, what: kind == Byte.map || kind == Byte.attribute ? "map" : "array", unit: "elements")
            if count < 0 { return .null }
            guard open.count < limits.maxDepth else {
                throw malformed("replies nested deeper than \(limits.maxDepth) levels (RESPLimits.maxDepth)", at: line.lowerBound - 1)
            }
            let elements = kind == Byte.map || kind == Byte.attribute ? count * 2 : count
            if elements == 0 {
                // An empty attribute annotates nothing: dropped like any other attribute.
                return kind == Byte.attribute ? nil : aggregate(kind: kind, [])
            }
            var items: [RESPValue] = []
            items.reserveCapacity(min(elements, 1024))
            open.append(Frame(kind: kind, remaining: elements, items: items))
            return nil
        case Byte.null:
            guard line.isEmpty else { throw malformed("null `_` followed by \(quoted(line))", at: line.lowerBound - 1) }
            return .null
        case Byte.boolean:
            switch Array(buffer[line]) {
            case [UInt8(ascii: "t")]: return .boolean(true)
            case [UInt8(ascii: "f")]: return .boolean(false)
            default: throw malformed("boolean \(quoted(line)) is neither t nor f", at: line.lowerBound - 1)
            }
        case Byte.double:
            guard let number = double(line) else { throw malformed("double \(quoted(line)) is not a number", at: line.lowerBound - 1) }
            return .double(number)
        case Byte.bigNumber:
            let digits = Array(buffer[line])
            let body = digits.first == UInt8(ascii: "-") || digits.first == UInt8(ascii: "+") ? digits.dropFirst() : digits[...]
            guard !body.isEmpty, body.allSatisfy(Byte.isDigit) else {
                throw malformed("big number \(quoted(line)) is not an integer", at: line.lowerBound - 1)
            }
            return .bigNumber(text(line))
        default:
            throw unknownType(kind, at: line.lowerBound - 1)
        }
    }

    /// Adds a finished value to the innermost open aggregate, closing every aggregate it
    /// completes; returns the value once nothing is left open (a whole reply).
    private mutating func close(with finished: RESPValue) -> RESPValue? {
        var value = finished
        while !open.isEmpty {
            let last = open.count - 1
            open[last].items.append(value)
            open[last].remaining -= 1
            guard open[last].remaining == 0 else { return nil }
            let frame = open.removeLast()
            // An attribute annotates the value after it; it is dropped, and does not count
            // as an element of the aggregate it sits in.
            if frame.kind == Byte.attribute { return nil }
            value = aggregate(kind: frame.kind, frame.items)
        }
        return value
    }

    private func aggregate(kind: UInt8, _ items: [RESPValue]) -> RESPValue {
        switch kind {
        case Byte.set: return .set(items)
        case Byte.push: return .push(items)
        case Byte.map, Byte.attribute:
            return .map(stride(from: 0, to: items.count, by: 2).map { RESPValue.Pair(key: items[$0], value: items[$0 + 1]) })
        default: return .array(items)
        }
    }

    private mutating func bulkBody(length: Int) throws(RedisError) -> [UInt8]? {
        guard buffer.count - position >= length + 2 else { return nil }
        let end = position + length
        guard buffer[end] == Byte.cr, buffer[end + 1] == Byte.lf else {
            throw malformed("bulk string of \(length) bytes is not followed by CRLF (the length does not match the data)", at: end)
        }
        let body = Array(buffer[position..<end])
        position = end + 2
        scanned = position
        return body
    }

    private func bulkValue(kind: UInt8, _ body: [UInt8]) throws(RedisError) -> RESPValue {
        switch kind {
        case Byte.blobError:
            return .error(String(decoding: body, as: UTF8.self))
        case Byte.verbatim:
            guard body.count >= 4, body[3] == UInt8(ascii: ":") else {
                throw malformed("verbatim string does not start with a three-letter format and a colon", at: position - body.count - 2)
            }
            return .verbatim(format: String(decoding: body[0..<3], as: UTF8.self), text: Array(body[4...]))
        default:
            return .bulkString(body)
        }
    }

    /// The type byte and the range of the line after it, once its CRLF has arrived.
    private mutating func nextLine() throws(RedisError) -> (UInt8, Range<Int>)? {
        guard position < buffer.count else { return nil }
        let kind = buffer[position]
        // An unknown type byte is refused before waiting for its line: whatever is on the
        // other end (HTTP, TLS, a stray byte) may never send a CRLF.
        guard Byte.isType(kind) else { throw unknownType(kind, at: position) }
        var index = max(scanned, position + 1)
        while index < buffer.count {
            let byte = buffer[index]
            if byte == Byte.lf {
                throw malformed("line ends in LF without CR", at: index)
            }
            if byte == Byte.cr {
                guard index + 1 < buffer.count else { break }
                guard buffer[index + 1] == Byte.lf else { throw malformed("CR not followed by LF", at: index) }
                let line = (position + 1)..<index
                guard line.count <= limits.maxLineLength else { throw lineTooLong(at: position) }
                position = index + 2
                scanned = position
                return (kind, line)
            }
            index += 1
        }
        scanned = index
        if index - (position + 1) > limits.maxLineLength { throw lineTooLong(at: position) }
        return nil
    }

    /// A length or count: -1 (null, where the type allows it), 0, or a positive number within `limit`.
    private func length(_ line: Range<Int>, kind: UInt8, limit: Int, what: String, unit: String) throws(RedisError) -> Int {
        let start = line.lowerBound - 1
        if line.count == 1, buffer[line.lowerBound] == UInt8(ascii: "?") {
            throw malformed("streamed \(what)s (\(Character(Unicode.Scalar(kind)))?) are not supported; Redis does not send them", at: start)
        }
        guard let number = integer(line, signs: false) else {
            throw malformed("\(what) length \(quoted(line)) is not a number", at: start)
        }
        if number == -1 {
            // RESP2 sends `$-1` and `*-1` for null; no other type has a null length.
            guard kind == Byte.bulkString || kind == Byte.array else {
                throw malformed("\(what) length -1 is only allowed for $ and *", at: start)
            }
            return -1
        }
        guard number >= 0 else { throw malformed("negative \(what) length \(number)", at: start) }
        guard number <= Int64(limit) else {
            throw malformed("\(what) of \(number) \(unit) is over the limit of \(limit) (RESPLimits)", at: start)
        }
        return Int(number)
    }

    /// A decimal integer: digits with an optional `-` (and `+` when `signs`), no spaces, no overflow.
    private func integer(_ line: Range<Int>, signs: Bool) -> Int64? {
        var index = line.lowerBound
        var negative = false
        if index < line.upperBound, buffer[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        } else if signs, index < line.upperBound, buffer[index] == UInt8(ascii: "+") {
            index += 1
        }
        guard index < line.upperBound else { return nil }
        var value: Int64 = 0
        while index < line.upperBound {
            let byte = buffer[index]
            guard Byte.isDigit(byte) else { return nil }
            let digit = Int64(byte - UInt8(ascii: "0"))
            // Accumulated negatively so that Int64.min itself can be read.
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.subtractingReportingOverflow(digit)
            guard !overflow, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        if negative { return value }
        return value == Int64.min ? nil : -value
    }

    private func double(_ line: Range<Int>) -> Double? {
        let text = text(line)
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default:
            // Decimal or exponent notation only: Swift would also read "0x1p3" and "infinity".
            guard !text.isEmpty, text.utf8.allSatisfy({ Byte.isDigit($0) || "+-.eE".utf8.contains($0) }) else { return nil }
            return Double(text)
        }
    }

    private func text(_ range: Range<Int>) -> String { String(decoding: buffer[range], as: UTF8.self) }

    /// Up to 40 bytes of a line, quoted, for error messages.
    private func quoted(_ range: Range<Int>) -> String {
        let shown = range.count > 40 ? range.lowerBound..<(range.lowerBound + 40) : range
        return "\"" + text(shown).unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + (shown.count < range.count ? "…" : "") + "\""
    }

    private func unknownType(_ byte: UInt8, at index: Int) -> RedisError {
        let shown = byte >= 0x20 && byte < 0x7F ? " ('\(Character(Unicode.Scalar(byte)))')" : ""
        return malformed("unknown type byte 0x\(String(byte, radix: 16, uppercase: true))\(shown) where a reply should start; the other end is not a Redis server, or the stream is out of step", at: index)
    }

    private func lineTooLong(at index: Int) -> RedisError {
        malformed("reply line longer than \(limits.maxLineLength) bytes (RESPLimits.maxLineLength)", at: index)
    }

    private func malformed(_ reason: String, at index: Int) -> RedisError {
        .protocolError("\(reason), at byte \(dropped + index) of the stream")
    }

    /// Drops consumed bytes from the front once they are most of the buffer, so a long-lived
    /// connection's buffer stays the size of its largest reply, and copying stays linear.
    private mutating func compact() {
        if position == buffer.count {
            dropped += position
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            scanned = 0
            position = 0
        } else if position >= 4096, position * 2 >= buffer.count {
            dropped += position
            buffer.removeFirst(position)
            scanned = max(0, scanned - position)
            position = 0
        }
    }
}

/// The bytes RESP is made of.
private enum Byte {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let simpleString = UInt8(ascii: "+")
    static let simpleError = UInt8(ascii: "-")
    static let integer = UInt8(ascii: ":")
    static let bulkString = UInt8(ascii: "$")
    static let array = UInt8(ascii: "*")
    static let null = UInt8(ascii: "_")
    static let boolean = UInt8(ascii: "#")
    static let double = UInt8(ascii: ",")
    static let bigNumber = UInt8(ascii: "(")
    static let blobError = UInt8(ascii: "!")
    static let verbatim = UInt8(ascii: "=")
    static let map = UInt8(ascii: "%")
    static let set = UInt8(ascii: "~")
    static let attribute = UInt8(ascii: "|")
    static let push = UInt8(ascii: ">")

    static func isType(_ byte: UInt8) -> Bool { "+-:$*_#,(!=%~|>".utf8.contains(byte) }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
