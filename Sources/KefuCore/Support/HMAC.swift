/// HMAC-SHA256 (RFC 2104), the pseudo-random function of PBKDF2.
///
/// The key is absorbed once: `inner` and `outer` are SHA-256 after the key XOR ipad / opad
/// block, so each message costs only its own blocks. PBKDF2 starts from these two states for
/// each of its many iterations.
struct HMACSHA256 {
    private(set) var inner = SHA256()
    private(set) var outer = SHA256()

    init(key: [UInt8]) {
        var block = key.count > SHA256.blockSize ? SHA256.hash(key) : key
        block.append(contentsOf: repeatElement(0, count: SHA256.blockSize - block.count))
        inner.update(block.map { $0 ^ 0x36 })
        outer.update(block.map { $0 ^ 0x5c })
    }

    func authenticationCode(for message: [UInt8]) -> [UInt8] {
        var i = inner
        i.update(message)
        var o = outer
        o.update(i.finalize())
        return o.finalize()
    }

    static func authenticationCode(for message: [UInt8], key: [UInt8]) -> [UInt8] {
        HMACSHA256(key: key).authenticationCode(for: message)
    }
}
