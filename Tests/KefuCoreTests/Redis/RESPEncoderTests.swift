import Foundation
import Testing
@testable import KefuCore

@Suite("RESP encoder and values")
struct RESPEncoderTests {
    @Test("a command is an array of bulk strings, lengths in bytes")
    func commandBytes() {
        #expect(RESPEncoder.encode(["SET", "key", "value"]) == Array("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n".utf8))
        #expect(RESPEncoder.encode(["SET", "你好", ""]) == Array("*3\r\n$3\r\nSET\r\n$6\r\n你好\r\n$0\r\n\r\n".utf8))
        #expect(RESPEncoder.encode(["INCRBY", "n", 42, RedisArgument(-7)]) == Array("*4\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$2\r\n42\r\n$2\r\n-7\r\n".utf8))
    }

    @Test("arguments are binary-safe: CR, LF, zero bytes and any byte value go through whole")
    func binarySafe() throws {
        let value = [UInt8](0...255) + [0x0D, 0x0A, 0x00]
        let bytes = RESPEncoder.encode(["SET", RedisArgument(bytes: [0x0D, 0x0A]), RedisArgument(bytes: value)])
        // The encoding of a command is itself RESP: the parser reads it back exactly.
        var parser = RESPParser()
        parser.append(bytes)
        #expect(try parser.next() == .array([.bulkString(Array("SET".utf8)), .bulkString([0x0D, 0x0A]), .bulkString(value)]))
    }

    @Test("a pipeline is the commands back to back")
    func pipeline() {
        let commands: [[RedisArgument]] = [["PING"], ["GET", "a"]]
        #expect(RESPEncoder.encode(pipeline: commands) == RESPEncoder.encode(["PING"]) + RESPEncoder.encode(["GET", "a"]))
    }

    @Test("values convert to arguments: text, bytes, data, integers, doubles")
    func conversions() {
        let items: [any RedisArgumentConvertible] = ["a", Substring("b"), [UInt8]([1, 2]), Data([3]), 4, Int64(-5), UInt64(6), 0.5, RedisArgument("x")]
        #expect(items.map(\.redisArgument.bytes) == [[97], [98], [1, 2], [3], [52], [45, 53], [54], Array("0.5".utf8), [120]])
    }

    @Test("reading values: strings, bytes, numbers, arrays, pairs from maps and from flat arrays")
    func accessors() throws {
        #expect(RESPValue.bulkString(Array("héllo".utf8)).string == "héllo")
        #expect(RESPValue.bulkString([0xFF]).string == nil)
        #expect(RESPValue.bulkString([0xFF]).bytes == [0xFF])
        #expect(RESPValue.simpleString("OK").bytes == Array("OK".utf8))
        #expect(RESPValue.bulkString(Array("5".utf8)).integer == 5)
        #expect(RESPValue.integer(-3).integer == -3)
        #expect(RESPValue.bulkString(Array("5x".utf8)).integer == nil)
        #expect(RESPValue.set([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.null.isNull && !RESPValue.bulkString([]).isNull)
        let flat = RESPValue.array([.bulkString(Array("a".utf8)), .integer(1), .bulkString(Array("b".utf8)), .integer(2)])
        let map = RESPValue.map([.init(key: .simpleString("a"), value: .integer(1)), .init(key: .simpleString("b"), value: .integer(2))])
        #expect(flat["b"] == .integer(2) && map["b"] == .integer(2) && map["c"] == nil)
        #expect(RESPValue.array([.integer(1)]).pairs == nil)
        #expect(RESPValue.error("ERR x").errorMessage == "ERR x")
    }

    @Test("checked() throws error replies: NOSCRIPT as noScript, others as server")
    func checked() throws {
        #expect(try RESPValue.integer(1).checked() == .integer(1))
        #expect(redisError { _ = try RESPValue.error("WRONGTYPE Operation against a key").checked() } == .server("WRONGTYPE Operation against a key"))
        #expect(redisError { _ = try RESPValue.error("NOSCRIPT No matching script").checked() } == .noScript("NOSCRIPT No matching script"))
    }

    @Test("errors say what to do next")
    func errorWording() {
        #expect(RedisError.connectionRefused(address: "127.0.0.1:6380").description
            == "cannot connect to Redis at 127.0.0.1:6380: connection refused; is redis-server running and listening on that port?")
        #expect(RedisError.timeout(address: "h:1", operation: "reading", after: .milliseconds(500)).description.contains("within 0.5 s (reading)"))
        #expect(RedisError.timeout(address: "h:1", operation: "reading", after: .seconds(5)).description.contains("within 5 s"))
        #expect(RedisError.timeout(address: "h:1", operation: "x", after: .seconds(1)).isConnectionError)
        #expect(!RedisError.server("ERR").isConnectionError)
    }

    @Test("back-off doubles from the first delay and stops at the cap")
    func backoff() {
        let configuration = RedisConfiguration(reconnectDelay: .milliseconds(50), maxReconnectDelay: .seconds(1))
        #expect((1...7).map { configuration.backoff(afterFailures: $0) }
            == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        #expect(configuration.backoff(afterFailures: 10_000) == .seconds(1))
    }
}
