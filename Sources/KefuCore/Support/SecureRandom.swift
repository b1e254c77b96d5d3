/// Unguessable values: anonymous customer ids, resume codes, shared secrets.
///
/// `SystemRandomNumberGenerator` reads the kernel's generator (`getrandom` on Linux), which is
/// fit for secrets; `Int.random` with a seeded generator, as training uses, is not.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// `count` random bytes as lowercase hex (two digits each).
    public static func hex(bytes count: Int) -> String { hex(bytes(count)) }

    /// Bytes as lowercase hex, two digits each.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 { Hex.encode(Array(bytes)) }
}
