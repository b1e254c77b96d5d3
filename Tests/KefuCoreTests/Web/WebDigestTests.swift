import Testing
@testable import KefuCore

/// SHA-1 and Base64 against their published vectors: the WebSocket handshake is accepted by
/// a browser only if both are exactly right, and Base64 also judges clients' keys.
@Suite("Web: SHA-1 and Base64")
struct WebDigestTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("SHA-1 gives the FIPS 180 example digests")
    func sha1FIPSExamples() {
        #expect(Hex.encode(SHA1.hash(Self.bytes("abc"))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Hex.encode(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(Hex.encode(SHA1.hash(Self.bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(Hex.encode(SHA1.hash(Self.bytes("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")))
                == "a49b2446a02c645bf419f995b67091253a04a259")
    }

    @Test("SHA-1 of one million 'a', fed in uneven pieces, is the FIPS 180 digest")
    func sha1MillionA() {
        var h = SHA1()
        var fed = 0, size = 1
        while fed < 1_000_000 {
            let n = min(size, 1_000_000 - fed)
            h.update([UInt8](repeating: UInt8(ascii: "a"), count: n))
            fed += n
            size = size % 997 + 13
        }
        #expect(Hex.encode(h.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("SHA-1 pads correctly at every length around a block boundary, whole or byte by byte")
    func sha1Boundaries() {
        for length in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            var h = SHA1()
            for b in message { h.update([b]) }
            #expect(h.finalize() == SHA1.hash(message), "length \(length)")
        }
    }

    @Test("Base64 gives the RFC 4648 §10 vectors both ways")
    func base64RFC4648Vectors() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                       ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Self.bytes(plain)) == encoded)
            #expect(Base64.decode(encoded) == Self.bytes(plain))
        }
    }

    @Test("Base64 round-trips every byte value at every length up to 70")
    func base64RoundTrips() {
        for length in 0...70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 251) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes, "length \(length)")
        }
        let all = (0...255).map { UInt8($0) }
        #expect(Base64.decode(Base64.encode(all)) == all)
        #expect(Base64.encode([0xfb, 0xff]) == "+/8=")
    }

    @Test("Base64 refuses wrong lengths, foreign characters, misplaced padding and non-zero pad bits")
    func base64RefusesBadInput() {
        for bad in ["Zg", "Zg=", "Z===", "====", "Zm9v!", "Zm 9v", "Zm9v\n", "=Zm8", "Zm8=Zm8=", "Zh==", "Zm9=",
                    "Zm9vYg=\n", "Zm9-", "Zm9_", "Zg==="] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
    }
}
