import Foundation
import Testing
@testable import KefuCore

private func wire(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Every value in `bytes`, fed at once.
private func parseAll(_ bytes: [UInt8], limits: RESPLimits = RESPLimits()) throws -> [RESPValue] {
    var parser = RESPParser(limits: limits)
    parser.append(bytes)
    var values: [RESPValue] = []
    while let value = try parser.next() { values.append(value) }
    return values
}

/// The protocol error's text for bytes that must be refused (nil if they are not).
private func refusal(_ bytes: [UInt8], limits: RESPLimits = RESPLimits()) -> String? {
    do {
        _ = try parseAll(bytes, limits: limits)
        return nil
    } catch {
        guard case .protocolError(let reason) = error as? RedisError else { return "not a protocol error: \(error)" }
        return reason
    }
}

/// One reply on the wire and the value it must parse to.
private let samples: [(wire: String, value: RESPValue)] = [
    // RESP2
    ("+OK\r\n", .simpleString("OK")),
    ("+\r\n", .simpleString("")),
    ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
    (":0\r\n", .integer(0)),
    (":-42\r\n", .integer(-42)),
    (":+7\r\n", .integer(7)),
    (":9223372036854775807\r\n", .integer(.max)),
    (":-9223372036854775808\r\n", .integer(.min)),
    ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
    ("$0\r\n\r\n", .bulkString([])),
    ("$-1\r\n", .null),
    ("$6\r\na\r\nb\u{0}c\r\n", .bulkString([0x61, 0x0D, 0x0A, 0x62, 0x00, 0x63])),
    ("*-1\r\n", .null),
    ("*0\r\n", .array([])),
    ("*3\r\n:1\r\n$3\r\nfoo\r\n+bar\r\n", .array([.integer(1), .bulkString(Array("foo".utf8)), .simpleString("bar")])),
    ("*2\r\n*2\r\n:1\r\n-E\r\n*1\r\n$-1\r\n", .array([.array([.integer(1), .error("E")]), .array([.null])])),
    ("*3\r\n*0\r\n*1\r\n*1\r\n*0\r\n$0\r\n\r\n", .array([.array([]), .array([.array([.array([])])]), .bulkString([])])),
    // RESP3
    ("_\r\n", .null),
    ("#t\r\n", .boolean(true)),
    ("#f\r\n", .boolean(false)),
    (",3.25\r\n", .double(3.25)),
    (",-1.5e3\r\n", .double(-1500)),
    (",10\r\n", .double(10)),
    (",inf\r\n", .double(.infinity)),
    (",-inf\r\n", .double(-.infinity)),
    ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
    ("(-12\r\n", .bigNumber("-12")),
    ("=15\r\ntxt:Some string\r\n", .verbatim(format: "txt", text: Array("Some string".utf8))),
    ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
    ("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n*1\r\n:2\r\n", .map([
        .init(key: .simpleString("first"), value: .integer(1)),
        .init(key: .bulkString(Array("second".utf8)), value: .array([.integer(2)])),
    ])),
    ("%0\r\n", .map([])),
    ("~2\r\n:1\r\n+two\r\n", .set([.integer(1), .simpleString("two")])),
    (">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", .push([.bulkString(Array("message".utf8)), .bulkString(Array("ch".utf8)), .bulkString(Array("hi".utf8))])),
    // An attribute before a reply is read and dropped, at the top and inside an aggregate.
    ("|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n", .array([.integer(2039123), .integer(9543892)])),
    ("*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n", .array([.integer(1), .integer(2)])),
    ("|0\r\n+after an empty attribute\r\n", .simpleString("after an empty attribute")),
]

@Suite("RESP parser")
struct RESPParserTests {
    @Test("every RESP2 and RESP3 type parses to its value")
    func everyType() throws {
        for sample in samples {
            #expect(try parseAll(wire(sample.wire)) == [sample.value], "\(sample.wire.debugDescription)")
        }
        let nan = try parseAll(wire(",nan\r\n"))
        #expect(nan.count == 1 && { if case .double(let d) = nan[0] { d.isNaN } else { false } }())
    }

    @Test("replies back to back (a pipeline's answers) come out one by one, in order")
    func backToBack() throws {
        let stream = samples.map(\.wire).joined()
        #expect(try parseAll(wire(stream)) == samples.map(\.value))
    }

    @Test("fed one byte at a time, the same values come out")
    func byteAtATime() throws {
        var parser = RESPParser()
        var values: [RESPValue] = []
        for byte in wire(samples.map(\.wire).joined()) {
            parser.append([byte])
            while let value = try parser.next() { values.append(value) }
        }
        #expect(values == samples.map(\.value))
        #expect(parser.bufferedByteCount == 0 && !parser.isMidValue)
    }

    @Test("fed in random pieces, the same values come out")
    func randomPieces() throws {
        let stream = wire(samples.map(\.wire).joined())
        var generator = SplitMix64(seed: 7)
        for _ in 0..<50 {
            var parser = RESPParser()
            var values: [RESPValue] = []
            var offset = 0
            while offset < stream.count {
                let size = Int.random(in: 1...23, using: &generator)
                parser.append(stream[offset..<min(offset + size, stream.count)])
                offset += size
                while let value = try parser.next() { values.append(value) }
            }
            #expect(values == samples.map(\.value))
        }
    }

    @Test("a reply cut at any point asks for more, then completes with the rest")
    func truncatedEverywhere() throws {
        for sample in samples {
            let bytes = wire(sample.wire)
            for cut in 0..<bytes.count {
                var parser = RESPParser()
                parser.append(bytes[..<cut])
                #expect(try parser.next() == nil, "cut at \(cut) of \(sample.wire.debugDescription)")
                parser.append(bytes[cut...])
                #expect(try parser.next() == sample.value, "cut at \(cut) of \(sample.wire.debugDescription)")
                #expect(try parser.next() == nil)
            }
        }
    }

    @Test("malformed replies are refused with a message that says what is wrong", arguments: [
        ("?x\r\n", "unknown type byte 0x3F ('?')"),
        ("HTTP/1.1 400 Bad Request\r\n", "not a Redis server"),
        ("$abc\r\n", "bulk string length \"abc\" is not a number"),
        ("$\r\n", "is not a number"),
        ("$+5\r\nhello\r\n", "is not a number"),
        ("$ 5\r\nhello\r\n", "is not a number"),
        ("*1x\r\n:1\r\n", "array length \"1x\" is not a number"),
        ("$99999999999999999999999\r\n", "is not a number"),
        ("$-2\r\n", "negative bulk string length -2"),
        ("*-5\r\n", "negative array length -5"),
        ("%-1\r\n", "only allowed for $ and *"),
        ("~-1\r\n", "only allowed for $ and *"),
        ("+OK\n", "LF without CR"),
        ("+OK\rX\r\n", "CR not followed by LF"),
        ("$3\r\nabcXY", "not followed by CRLF"),
        ("$3\r\nabcd\r\n", "not followed by CRLF"),
        ("*2\r\n$1\r\nab\r\n", "not followed by CRLF"),
        (":12a\r\n", "not a 64-bit integer"),
        (":\r\n", "not a 64-bit integer"),
        (":9223372036854775808\r\n", "not a 64-bit integer"),
        ("#x\r\n", "neither t nor f"),
        ("_x\r\n", "null `_` followed by"),
        (",abc\r\n", "is not a number"),
        (",0x1p3\r\n", "is not a number"),
        ("(12a\r\n", "not an integer"),
        ("=3\r\nabc\r\n", "three-letter format"),
        ("$?\r\n;4\r\nHell\r\n;0\r\n", "streamed bulk strings"),
        ("*?\r\n:1\r\n.\r\n", "streamed arrays"),
    ])
    func malformed(sample: (String, String)) {
        let reason = refusal(wire(sample.0))
        #expect(reason?.contains(sample.1) == true, "\(sample.0.debugDescription): \(reason ?? "accepted")")
        #expect(reason?.contains("at byte") == true)
    }

    @Test("an unknown type byte is refused at once, without waiting for a line end")
    func badTypeByteAtOnce() throws {
        var parser = RESPParser()
        parser.append(wire("+OK\r\nH"))
        #expect(try parser.next() == .simpleString("OK"))
        #expect(throws: RedisError.self) { try parser.next() }
    }

    @Test("after a malformed reply the stream stays refused, whatever follows")
    func staysFailed() {
        var parser = RESPParser()
        parser.append(wire("$-2\r\n"))
        #expect(throws: RedisError.self) { try parser.next() }
        parser.append(wire("+OK\r\n"))
        #expect(throws: RedisError.self) { try parser.next() }
    }

    @Test("a bulk length of 2^40 or an array count of 10^9 is refused from its header alone")
    func hugeLengthsRefused() {
        for header in ["$1099511627776\r\n", "*1000000000\r\n", "%1000000000\r\n", "~1000000000\r\n", ">1000000000\r\n", "!1099511627776\r\n", "=1099511627776\r\n"] {
            var parser = RESPParser()
            parser.append(wire(header))
            // Nothing but the header has arrived: a parser that trusted the number would be
            // waiting (or allocating) now; this one refuses.
            let error = redisError { _ = try parser.next() }
            guard case .protocolError(let reason) = error else {
                Issue.record("\(header.debugDescription) was not refused: \(String(describing: error))")
                continue
            }
            #expect(reason.contains("over the limit"), "\(reason)")
        }
    }

    @Test("the limits are the caller's: just under passes, just over is refused")
    func customLimits() throws {
        let limits = RESPLimits(maxBulkLength: 10, maxArrayCount: 3, maxDepth: 2, maxLineLength: 8)
        #expect(try parseAll(wire("$10\r\n0123456789\r\n"), limits: limits) == [.bulkString(Array("0123456789".utf8))])
        #expect(refusal(wire("$11\r\n"), limits: limits)?.contains("bulk string of 11 bytes is over the limit of 10") == true)
        #expect(try parseAll(wire("*3\r\n:1\r\n:2\r\n:3\r\n"), limits: limits).count == 1)
        #expect(refusal(wire("*4\r\n"), limits: limits)?.contains("array of 4 elements is over the limit of 3") == true)
        #expect(refusal(wire("%4\r\n"), limits: limits)?.contains("map of 4 elements") == true)
        #expect(try parseAll(wire("*1\r\n*1\r\n:1\r\n"), limits: limits) == [.array([.array([.integer(1)])])])
        #expect(refusal(wire("*1\r\n*1\r\n*1\r\n:1\r\n"), limits: limits)?.contains("nested deeper than 2 levels") == true)
        #expect(refusal(wire("*1\r\n*1\r\n*0\r\n"), limits: limits)?.contains("nested deeper") == true)
        #expect(try parseAll(wire("+12345678\r\n"), limits: limits) == [.simpleString("12345678")])
        #expect(refusal(wire("+123456789\r\n"), limits: limits)?.contains("longer than 8 bytes") == true)
    }

    @Test("nesting deeper than the default limit is refused; at the limit it parses")
    func defaultDepth() throws {
        let depth = RESPLimits().maxDepth
        var value = RESPValue.integer(1)
        for _ in 0..<depth { value = .array([value]) }
        #expect(try parseAll(wire(String(repeating: "*1\r\n", count: depth) + ":1\r\n")) == [value])
        let reason = refusal(wire(String(repeating: "*1\r\n", count: depth + 1) + ":1\r\n"))
        #expect(reason?.contains("nested deeper than \(depth) levels") == true)
        // A million opening brackets never reach a million frames.
        #expect(refusal(wire(String(repeating: "*1\r\n", count: 1_000_000)))?.contains("nested deeper") == true)
    }

    @Test("a line with no end is refused once it is longer than any reply line, not buffered for ever")
    func endlessLine() throws {
        var parser = RESPParser()
        let chunk = [UInt8]([UInt8(ascii: "+")] + Array(repeating: UInt8(ascii: "a"), count: 4095))
        parser.append(chunk)
        #expect(try parser.next() == nil)
        var refused = false
        for _ in 0..<100 where !refused {
            parser.append([UInt8](repeating: UInt8(ascii: "a"), count: 4096))
            refused = redisError { _ = try parser.next() } != nil
        }
        #expect(refused)
        #expect(parser.bufferedByteCount <= RESPLimits().maxLineLength + 8192)
    }

    @Test("consumed bytes are let go: a long stream does not grow the buffer")
    func bufferCompacts() throws {
        var parser = RESPParser()
        let reply = wire("$100\r\n" + String(repeating: "x", count: 100) + "\r\n")
        for _ in 0..<10_000 {
            parser.append(reply + reply)
            #expect(try parser.next() != nil)
            #expect(try parser.next() != nil)
        }
        #expect(parser.bufferedByteCount == 0)
    }
}

@Suite("RESP parser on hostile input")
struct RESPParserFuzzTests {
    @Test("random bytes and damaged replies are refused or wait for more; they never crash it")
    func garbage() {
        var generator = SplitMix64(seed: 42)
        let valid = Array(samples.map(\.wire).joined().utf8)
        for round in 0..<2000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                // Mostly start with a real type byte, so the parser goes past the first check.
                if round % 4 == 0 { bytes[0] = Array("+-:$*_#,(!=%~|>".utf8).randomElement(using: &generator) ?? 0x2B }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            var parser = RESPParser(limits: RESPLimits(maxBulkLength: 1 << 16, maxArrayCount: 1 << 10))
            parser.append(bytes)
            var values = 0
            do {
                while try parser.next() != nil { values += 1 }
            } catch {
                #expect(error.description.hasPrefix("Redis protocol error:"))
            }
            #expect(values <= bytes.count)
        }
    }
}
