/// A salted PBKDF2-HMAC-SHA256 password hash, stored as one field of the accounts file:
/// `pbkdf2-sha256$ITERATIONS$SALT-HEX$HASH-HEX`.
///
/// The iteration count is stored with each hash, so raising `defaultIterations` later
/// strengthens new and changed passwords while every existing one keeps working.
public struct PasswordHash: Sendable, Equatable, CustomStringConvertible {
    public static let scheme = "pbkdf2-sha256"
    /// One check takes about 50 ms in a release build on the project's machine (2 cores):
    /// unnoticeable at login, and each guess against a copied accounts file costs the same.
    public static let defaultIterations = 100_000
    /// Stored counts outside this range are refused as malformed: too few is no protection,
    /// too many would let one line stall every login.
    public static let iterationRange = 1...10_000_000
    static let saltBytes = 16
    static let hashBytes = 32

    public let iterations: Int
    public let salt: [UInt8]
    let hash: [UInt8]

    /// Hashes `password` with a fresh random salt.
    public init(password: String, iterations: Int = PasswordHash.defaultIterations) {
        self.init(password: password, salt: SecureRandom.bytes(Self.saltBytes), iterations: iterations)
    }

    init(password: String, salt: [UInt8], iterations: Int) {
        self.iterations = iterations
        self.salt = salt
        hash = PBKDF2.sha256(password: Array(password.utf8), salt: salt, iterations: iterations, length: Self.hashBytes)
    }

    /// Random salt and random "hash": checking a password against it costs the usual
    /// iterations and never succeeds. Stands in for the accounts of unknown names.
    static func unmatchable(iterations: Int) -> PasswordHash {
        PasswordHash(iterations: iterations, salt: SecureRandom.bytes(saltBytes), hash: SecureRandom.bytes(hashBytes))
    }

    private init(iterations: Int, salt: [UInt8], hash: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.hash = hash
    }

    /// Reads the stored form; the error says what is wrong with it, for a `file:line` notice.
    public init(stored text: some StringProtocol) throws(FormatProblem) {
        let fields = text.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 4, fields[0] == Self.scheme else {
            throw FormatProblem("the password hash must look like \(Self.scheme)$ITERATIONS$SALT$HASH")
        }
        guard let iterations = Int(fields[1]), Self.iterationRange.contains(iterations) else {
            throw FormatProblem("the iteration count '\(fields[1])' is not a number from \(Self.iterationRange.lowerBound) to \(Self.iterationRange.upperBound)")
        }
        guard let salt = Hex.decode(fields[2]), salt.count >= 8 else {
            throw FormatProblem("the salt must be at least 8 bytes in hex")
        }
        guard let hash = Hex.decode(fields[3]), hash.count == Self.hashBytes else {
            throw FormatProblem("the hash must be \(Self.hashBytes) bytes in hex")
        }
        self.iterations = iterations
        self.salt = salt
        self.hash = hash
    }

    public var description: String { "\(Self.scheme)$\(iterations)$\(Hex.encode(salt))$\(Hex.encode(hash))" }

    /// Whether `password` is the one hashed, compared in constant time.
    public func matches(_ password: String) -> Bool {
        let candidate = PBKDF2.sha256(password: Array(password.utf8), salt: salt, iterations: iterations, length: hash.count)
        return constantTimeEqual(candidate, hash)
    }

    /// A new random password, shown once to the administrator who creates or resets an
    /// account: 20 characters from 31 that cannot be mistaken for each other (no i, l, o, 0, 1),
    /// about 99 bits, in groups of five so it can be read out.
    public static func generatePassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var random = SystemRandomNumberGenerator()
        let groups = (0..<4).map { _ in String((0..<5).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }) }
        return groups.joined(separator: "-")
    }
}

/// Why a stored line or field could not be read.
public struct FormatProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
