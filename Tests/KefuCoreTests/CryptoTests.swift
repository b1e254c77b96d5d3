import Testing
@testable import KefuCore

/// SHA-256, HMAC-SHA256 and PBKDF2-HMAC-SHA256 against their published test vectors: agent
/// passwords are only as safe as these three functions are exactly right.
@Suite("Password hashing primitives")
struct CryptoTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("SHA-256 gives the FIPS 180-4 example digests")
    func sha256FIPSExamples() {
        #expect(Hex.encode(SHA256.hash(Self.bytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256.hash(Self.bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Hex.encode(SHA256.hash(Self.bytes("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")))
                == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(Hex.encode(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("SHA-256 of one million 'a' (fed in uneven pieces) is the FIPS 180-4 digest")
    func sha256MillionA() {
        var h = SHA256()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 1024)
        var fed = 0, size = 1
        while fed < 1_000_000 {
            let n = min(size, 1_000_000 - fed)
            h.update(Array(piece.prefix(n)))
            fed += n
            size = size % 997 + 13  // 1 to 1,009 bytes: pieces that end anywhere in a block
        }
        #expect(Hex.encode(h.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("SHA-256 pads correctly at every length around a block boundary, whole or in pieces")
    func sha256Boundaries() {
        // Each length's digest, hashed whole, must equal the same message fed one byte at a time.
        for length in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            var h = SHA256()
            for b in message { h.update([b]) }
            #expect(h.finalize() == SHA256.hash(message), "length \(length)")
        }
    }

    @Test("HMAC-SHA256 gives the RFC 4231 results for test cases 1 to 7, case 5 truncated to 128 bits")
    func hmacRFC4231() {
        let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
            ([UInt8](repeating: 0x0b, count: 20), Self.bytes("Hi There"),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Self.bytes("Jefe"), Self.bytes("what do ya want for nothing?"),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (Array(1...25), [UInt8](repeating: 0xcd, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            ([UInt8](repeating: 0x0c, count: 20), Self.bytes("Test With Truncation"),
             "a3b6167473100ee06e0c796c2955552b"),
            ([UInt8](repeating: 0xaa, count: 131), Self.bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            ([UInt8](repeating: 0xaa, count: 131),
             Self.bytes("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ]
        for (number, c) in cases.enumerated() {
            let mac = HMACSHA256.authenticationCode(for: c.data, key: c.key)
            // Case 5's published result is the first 128 bits; the others are the whole MAC.
            #expect(Hex.encode(Array(mac.prefix(c.mac.count / 2))) == c.mac, "RFC 4231 test case \(number + 1)")
        }
    }

    @Test("PBKDF2-HMAC-SHA256 gives the RFC 7914 §11 results")
    func pbkdf2RFC7914() {
        let one = PBKDF2.sha256(password: Self.bytes("passwd"), salt: Self.bytes("salt"), iterations: 1, length: 64)
        #expect(Hex.encode(one) == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
        let many = PBKDF2.sha256(password: Self.bytes("Password"), salt: Self.bytes("NaCl"), iterations: 80_000, length: 64)
        #expect(Hex.encode(many) == "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
                + "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d")
    }

    @Test("hex round-trips and refuses what is not hex")
    func hex() {
        #expect(Hex.decode("00ff10Ab") == [0x00, 0xff, 0x10, 0xab])
        #expect(Hex.encode([0x00, 0xff, 0x10, 0xab]) == "00ff10ab")
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
