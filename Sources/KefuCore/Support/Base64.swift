/// Base64 with the standard alphabet and padding (RFC 4648 §4), written here so that what
/// is accepted is exactly what is documented below, on every platform: the web socket
/// handshake (RFC 6455) judges a client's key by it.
///
/// Decoding is strict, since its input comes from clients: the length must be a multiple of
/// four, only the 64 alphabet characters may appear, `=` only as one or two final characters,
/// and the bits padding leaves over must be zero (RFC 4648 §3.5), so every byte string has
/// exactly one accepted spelling. No whitespace or line breaks are skipped.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Each ASCII byte's six-bit value, or 0xFF when it is not in the alphabet.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int(n >> UInt32(shift) & 0x3F)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(alphabet[Int(n >> 18 & 0x3F)])
            out.append(alphabet[Int(n >> 12 & 0x3F)])
            out.append(rest == 2 ? alphabet[Int(n >> 6 & 0x3F)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes, or nil when `text` is not canonical padded Base64 (see the type's comment).
    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let isLast = i + 4 == chars.count
            let padding = isLast ? (chars[i + 3] == UInt8(ascii: "=") ? (chars[i + 2] == UInt8(ascii: "=") ? 2 : 1) : 0) : 0
            var n: UInt32 = 0
            for j in 0..<(4 - padding) {
                let v = values[Int(chars[i + j])]
                guard v != 0xFF else { return nil }
                n |= UInt32(v) << UInt32(18 - 6 * j)
            }
            switch padding {
            case 0:
                out.append(contentsOf: [UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)])
            case 1:
                guard n & 0xFF == 0 else { return nil }
                out.append(contentsOf: [UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8)])
            default:
                guard n & 0xFFFF == 0 else { return nil }
                out.append(UInt8(truncatingIfNeeded: n >> 16))
            }
            i += 4
        }
        return out
    }
}
