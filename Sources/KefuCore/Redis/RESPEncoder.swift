import Foundation

/// One word of a Redis command: any bytes (a key, a value, a number written in decimal).
///
/// Commands go to the server as arrays of bulk strings, the form every Redis since 1.2
/// accepts, which carries each argument's length in front of it: an argument may hold
/// spaces, CR, LF or zero bytes and still arrives whole, unlike the inline form.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: some StringProtocol) { bytes = Array(text.utf8) }
    public init(_ number: some BinaryInteger) { bytes = Array(String(number).utf8) }
    public init(stringLiteral text: String) { bytes = Array(text.utf8) }
    public init(integerLiteral number: Int) { bytes = Array(String(number).utf8) }
}

/// What can be passed where a command takes an argument, so `command("SET", key, 42)` needs
/// no conversions at the call.
public protocol RedisArgumentConvertible {
    var redisArgument: RedisArgument { get }
}

extension RedisArgument: RedisArgumentConvertible { public var redisArgument: RedisArgument { self } }
extension String: RedisArgumentConvertible { public var redisArgument: RedisArgument { RedisArgument(self) } }
extension Substring: RedisArgumentConvertible { public var redisArgument: RedisArgument { RedisArgument(self) } }
extension Int: RedisArgumentConvertible { public var redisArgument: RedisArgument { RedisArgument(self) } }
extension Int64: RedisArgumentConvertible { public var redisArgument: RedisArgument { RedisArgument(self) } }
extension UInt64: RedisArgumentConvertible { public var redisArgument: RedisArgument { RedisArgument(self) } }
extension Data: RedisArgumentConvertible { public var redisArgument: RedisArgument { RedisArgument(bytes: Array(self)) } }
extension Array: RedisArgumentConvertible where Element == UInt8 {
    public var redisArgument: RedisArgument { RedisArgument(bytes: self) }
}
extension Double: RedisArgumentConvertible {
    /// Redis reads floats with `strtold`: Swift's shortest round-trip form (`0.1`, `1e-05`,
    /// `inf`) reads back to the same value.
    public var redisArgument: RedisArgument { RedisArgument(description) }
}

/// Writes commands in RESP: `*<count>\r\n` then `$<length>\r\n<bytes>\r\n` per argument.
public enum RESPEncoder {
    /// One command's bytes.
    public static func encode(_ command: [RedisArgument]) -> [UInt8] {
        var out: [UInt8] = []
        append(command, to: &out)
        return out
    }

    /// Several commands back to back, to be written at once (a pipeline).
    public static func encode(pipeline commands: [[RedisArgument]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(commands.reduce(0) { total, command in
            total + 16 + command.reduce(0) { $0 + $1.bytes.count + 16 }
        })
        for command in commands { append(command, to: &out) }
        return out
    }

    public static func append(_ command: [RedisArgument], to out: inout [UInt8]) {
        header(UInt8(ascii: "*"), command.count, to: &out)
        for argument in command {
            header(UInt8(ascii: "$"), argument.bytes.count, to: &out)
            out.append(contentsOf: argument.bytes)
            out.append(contentsOf: crlf)
        }
    }

    private static let crlf: [UInt8] = [0x0D, 0x0A]

    private static func header(_ type: UInt8, _ count: Int, to out: inout [UInt8]) {
        out.append(type)
        out.append(contentsOf: String(count).utf8)
        out.append(contentsOf: crlf)
    }
}
