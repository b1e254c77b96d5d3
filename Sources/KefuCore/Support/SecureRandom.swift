/// Unguessable values: anonymous customer ids, resume codes, shared secrets.
///
/// `SystemRandomNumberGenerator` reads the kernel's generator (`getrandom` on Linux), which is
/// fit for secrets; `Int.random` with a seeded generator, as training uses, is not.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        // Eight bytes per read of the kernel's generator: one `getrandom` per byte was a
        // measurable share of a burst of new customers (each connection gets a 16-byte scope).
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// `count` random bytes as lowercase hex (two digits each).
    public static func hex(bytes count: Int) -> String { hex(bytes(count)) }

    /// Bytes as lowercase hex, two digits each.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 { Hex.encode(Array(bytes)) }
}
