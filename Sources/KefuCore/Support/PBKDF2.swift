/// PBKDF2 (RFC 8018 §5.2) with HMAC-SHA256: how agent passwords are stored.
///
/// The cost of a guess is `iterations` HMACs; everything here exists to make the defender's
/// side of that cost as small as the attacker's. Each HMAC of a 32-byte block is exactly two
/// SHA-256 compressions, starting from the key's precomputed inner and outer states, with
/// the padded block kept as 16 words, so the loop does no byte conversion and no allocation.
enum PBKDF2 {
    static func sha256(password: [UInt8], salt: [UInt8], iterations: Int, length: Int) -> [UInt8] {
        precondition(iterations >= 1 && length >= 1, "PBKDF2 needs at least one iteration and one byte")
        let mac = HMACSHA256(key: password)
        var derived: [UInt8] = []
        derived.reserveCapacity(length + SHA256.digestSize)
        var blockIndex: UInt32 = 1
        while derived.count < length {
            let first = mac.authenticationCode(for: salt + [UInt8(blockIndex >> 24), UInt8(truncatingIfNeeded: blockIndex >> 16),
                                                             UInt8(truncatingIfNeeded: blockIndex >> 8), UInt8(truncatingIfNeeded: blockIndex)])
            derived.append(contentsOf: iterate(from: first, times: iterations - 1, inner: mac.inner.state, outer: mac.outer.state))
            blockIndex += 1
        }
        return Array(derived.prefix(length))
    }

    /// U₁ XOR U₂ XOR … where each U is the HMAC of the one before.
    @_optimize(speed)
    private static func iterate(from first: [UInt8], times: Int, inner: SHA256.State, outer: SHA256.State) -> [UInt8] {
        var u = words(first)
        var t = u
        guard times > 0 else { return t.bytes }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { schedule in
            let w = schedule.baseAddress!
            for _ in 0..<times {
                // Inner hash: key⊕ipad block (already absorbed), then U and padding for 96 bytes.
                var s = inner
                load(u, into: w)
                SHA256.rounds(&s, schedule: w)
                // Outer hash: key⊕opad block, then the inner digest and the same padding.
                var o = outer
                load(s, into: w)
                SHA256.rounds(&o, schedule: w)
                u = o
                t.h0 ^= u.h0; t.h1 ^= u.h1; t.h2 ^= u.h2; t.h3 ^= u.h3
                t.h4 ^= u.h4; t.h5 ^= u.h5; t.h6 ^= u.h6; t.h7 ^= u.h7
            }
        }
        return t.bytes
    }

    /// A 32-byte digest as the first 16 schedule words of its second (and last) block:
    /// the digest, the 0x80 pad byte, zeros, and the length in bits of 64 + 32 bytes.
    @_optimize(speed)
    private static func load(_ d: SHA256.State, into w: UnsafeMutablePointer<UInt32>) {
        w[0] = d.h0; w[1] = d.h1; w[2] = d.h2; w[3] = d.h3
        w[4] = d.h4; w[5] = d.h5; w[6] = d.h6; w[7] = d.h7
        w[8] = 0x8000_0000
        w[9] = 0; w[10] = 0; w[11] = 0; w[12] = 0; w[13] = 0; w[14] = 0
        w[15] = UInt32((SHA256.blockSize + SHA256.digestSize) * 8)
    }

    private static func words(_ digest: [UInt8]) -> SHA256.State {
        func word(_ i: Int) -> UInt32 {
            UInt32(digest[4 * i]) << 24 | UInt32(digest[4 * i + 1]) << 16 | UInt32(digest[4 * i + 2]) << 8 | UInt32(digest[4 * i + 3])
        }
        return SHA256.State(h0: word(0), h1: word(1), h2: word(2), h3: word(3), h4: word(4), h5: word(5), h6: word(6), h7: word(7))
    }
}

/// Compares secrets (password hashes) in time that depends only on their length, so
/// response times do not tell a guesser how many leading bytes were right.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<a.count { difference |= a[i] ^ b[i] }
    return difference == 0
}
