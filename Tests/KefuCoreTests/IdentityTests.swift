import Foundation
import Testing
@testable import KefuCore

/// The pieces customer identity is built from: the digest, random values, keys and resume codes.
@Suite("Customer identity")
struct IdentityTests {
    @Test("SHA-256 gives the standard's digests, across the padding boundaries")
    func sha256Vectors() {
        let vectors: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            (String(repeating: "a", count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
            (String(repeating: "a", count: 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
            (String(repeating: "a", count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
            ("客服", "eae0efe236c3fe680dcf0e1b1708d0caedecfe6532c8080d4b001c0694477229"),
        ]
        for (text, digest) in vectors { #expect(SHA256.hex(Array(text.utf8)) == digest, "\(text.prefix(10))") }
    }

    @Test("random values are the length asked for and do not repeat")
    func secureRandom() {
        let values = (0..<1000).map { _ in SecureRandom.hex(bytes: 16) }
        #expect(values.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
        #expect(Set(values).count == values.count)
        #expect(SecureRandom.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    }
}
