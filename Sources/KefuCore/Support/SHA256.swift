/// SHA-256 (FIPS 180-4), written here because Kefu takes no package dependencies and
/// Foundation on Linux has no digest API.
///
/// Its main user is PBKDF2 for agent passwords, where one login costs hundreds of thousands
/// of compressions: the state is eight `UInt32` values on the stack and the message schedule
/// a stack buffer, so the block function never allocates.
struct SHA256 {
    static let digestSize = 32
    static let blockSize = 64

    /// The eight working words H0…H7.
    struct State: Equatable {
        var h0, h1, h2, h3, h4, h5, h6, h7: UInt32

        static let initial = State(h0: 0x6a09e667, h1: 0xbb67ae85, h2: 0x3c6ef372, h3: 0xa54ff53a,
                                   h4: 0x510e527f, h5: 0x9b05688c, h6: 0x1f83d9ab, h7: 0x5be0cd19)

        /// The digest: the words in big-endian byte order.
        var bytes: [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(32)
            for word in [h0, h1, h2, h3, h4, h5, h6, h7] {
                out.append(UInt8(truncatingIfNeeded: word >> 24))
                out.append(UInt8(truncatingIfNeeded: word >> 16))
                out.append(UInt8(truncatingIfNeeded: word >> 8))
                out.append(UInt8(truncatingIfNeeded: word))
            }
            return out
        }
    }

    private(set) var state = State.initial
    /// Bytes of an unfinished block (fewer than 64).
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    init() { pending.reserveCapacity(Self.blockSize) }

    /// The digest of `bytes` in lower-case hex.
    static func hex(_ bytes: [UInt8]) -> String { Hex.encode(hash(bytes)) }

    static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update(buffer: $0) }
    }

    mutating func update(buffer: UnsafeRawBufferPointer) {
        length &+= UInt64(buffer.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(Self.blockSize - pending.count, buffer.count)
            pending.append(contentsOf: buffer[0..<take])
            offset = take
            guard pending.count == Self.blockSize else { return }
            pending.withUnsafeBytes { Self.compress(&state, block: $0.baseAddress!) }
            pending.removeAll(keepingCapacity: true)
        }
        while buffer.count - offset >= Self.blockSize {
            Self.compress(&state, block: buffer.baseAddress! + offset)
            offset += Self.blockSize
        }
        pending.append(contentsOf: buffer[offset...])
    }

    /// Pads, compresses the last block(s) and returns the 32-byte digest.
    mutating func finalize() -> [UInt8] {
        let tail = MessagePadding.tail(messageBytes: length, pending: pending.count)
        tail.withUnsafeBytes { update(buffer: $0) }
        return state.bytes
    }

    /// Compresses one 64-byte block read as big-endian words.
    static func compress(_ state: inout State, block: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            let w = w.baseAddress!
            for i in 0..<16 {
                let p = block + 4 * i
                w[i] = UInt32(p.load(as: UInt8.self)) << 24 | UInt32(p.load(fromByteOffset: 1, as: UInt8.self)) << 16
                    | UInt32(p.load(fromByteOffset: 2, as: UInt8.self)) << 8 | UInt32(p.load(fromByteOffset: 3, as: UInt8.self))
            }
            rounds(&state, schedule: w)
        }
    }

    /// The 64 rounds on a schedule whose first 16 words hold the block; words 16…63 are
    /// overwritten, words 0…15 are left as they were (PBKDF2 relies on that).
    ///
    /// `@_optimize(speed)` and the rotations written out (`x >> n | x << (32 - n)`) rather
    /// than called keep debug builds, which the tests run, about ten times faster; release
    /// builds compile both forms to the same rotate instructions.
    @_optimize(speed)
    static func rounds(_ state: inout State, schedule w: UnsafeMutablePointer<UInt32>) {
        for i in 16..<64 {
            let x = w[i - 15], y = w[i - 2]
            let s0 = (x >> 7 | x << 25) ^ (x >> 18 | x << 14) ^ (x >> 3)
            let s1 = (y >> 17 | y << 15) ^ (y >> 19 | y << 13) ^ (y >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = state.h0, b = state.h1, c = state.h2, d = state.h3
        var e = state.h4, f = state.h5, g = state.h6, h = state.h7
        roundConstants.withUnsafeBufferPointer { k in
            for i in 0..<64 {
                let sigma1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
                let sigma0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
                let t1 = h &+ sigma1 &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                let t2 = sigma0 &+ ((a & b) ^ (a & c) ^ (b & c))
                h = g; g = f; f = e; e = d &+ t1
                d = c; c = b; b = a; a = t1 &+ t2
            }
        }
        state.h0 &+= a; state.h1 &+= b; state.h2 &+= c; state.h3 &+= d
        state.h4 &+= e; state.h5 &+= f; state.h6 &+= g; state.h7 &+= h
    }

    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
}
