/// SHA-1 (FIPS 180-4), here only because the web socket opening handshake (RFC 6455 §4.2.2)
/// is defined with it: the server proves it read the client's key by answering
/// base64(SHA-1(key + GUID)). SHA-1 is broken for collision resistance, which this use does
/// not need; nothing else in Kefu should hash with it (use `SHA256`).
///
/// Written here because Kefu takes no package dependencies and Foundation on Linux has no
/// digest API. One handshake hashes 60 bytes, so this favours plain code over speed.
struct SHA1 {
    static let digestSize = 20
    static let blockSize = 64

    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)
    /// Bytes of an unfinished block (fewer than 64).
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    init() { pending.reserveCapacity(Self.blockSize) }

    /// The 20-byte digest of `bytes`.
    static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var h = SHA1()
        h.update(bytes)
        return h.finalize()
    }

    mutating func update(_ bytes: [UInt8]) {
        length &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(Self.blockSize - pending.count, bytes.count)
            pending.append(contentsOf: bytes[0..<take])
            offset = take
            guard pending.count == Self.blockSize else { return }
            compress(pending[...])
            pending.removeAll(keepingCapacity: true)
        }
        while bytes.count - offset >= Self.blockSize {
            compress(bytes[offset..<offset + Self.blockSize])
            offset += Self.blockSize
        }
        pending.append(contentsOf: bytes[offset...])
    }

    /// Pads, compresses the last block(s) and returns the 20-byte digest.
    mutating func finalize() -> [UInt8] {
        let tail = MessagePadding.tail(messageBytes: length, pending: pending.count)
        update(tail)
        var out: [UInt8] = []
        out.reserveCapacity(Self.digestSize)
        for word in [h.0, h.1, h.2, h.3, h.4] {
            out.append(UInt8(truncatingIfNeeded: word >> 24))
            out.append(UInt8(truncatingIfNeeded: word >> 16))
            out.append(UInt8(truncatingIfNeeded: word >> 8))
            out.append(UInt8(truncatingIfNeeded: word))
        }
        return out
    }

    /// The 80 rounds on one 64-byte block read as big-endian words.
    private mutating func compress(_ block: ArraySlice<UInt8>) {
        var w = [UInt32](repeating: 0, count: 80)
        var i = block.startIndex
        for t in 0..<16 {
            w[t] = UInt32(block[i]) << 24 | UInt32(block[i + 1]) << 16 | UInt32(block[i + 2]) << 8 | UInt32(block[i + 3])
            i += 4
        }
        for t in 16..<80 {
            let x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
            w[t] = x << 1 | x >> 31
        }
        var (a, b, c, d, e) = h
        for t in 0..<80 {
            let f: UInt32, k: UInt32
            switch t {
            case 0..<20: f = (b & c) | (~b & d); k = 0x5A827999
            case 20..<40: f = b ^ c ^ d; k = 0x6ED9EBA1
            case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC
            default: f = b ^ c ^ d; k = 0xCA62C1D6
            }
            let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[t]
            e = d; d = c; c = b << 30 | b >> 2; b = a; a = temp
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
    }
}
