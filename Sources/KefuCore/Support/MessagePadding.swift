/// The padding SHA-1 and SHA-256 share (FIPS 180-4 §5.1.1): a 1 bit, zeros up to 56 bytes
/// into the last 64-byte block, then the message length in bits, big-endian.
enum MessagePadding {
    /// The bytes to feed after a message of `messageBytes` bytes, `pending` of them not yet
    /// compressed (`messageBytes % 64`).
    static func tail(messageBytes: UInt64, pending: Int) -> [UInt8] {
        let bits = messageBytes &* 8
        var tail: [UInt8] = [0x80]
        let used = (pending + 1) % 64
        tail.append(contentsOf: repeatElement(0, count: (64 + 56 - used) % 64))
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        return tail
    }
}
