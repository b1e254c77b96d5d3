import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The agent accounts of one data folder: the file `agents`, one account per line.
///
/// ```
/// # comment
/// NAME ROLE pbkdf2-sha256$ITERATIONS$SALT-HEX$HASH-HEX
/// ```
///
/// Fields are separated by spaces; ROLE is `agent` or `supervisor`. The file holds hashes,
/// never passwords, and is still kept at mode 0600: a copy would let anyone guess offline.
///
/// It is replaced whole, never edited in place: a change is written to a temporary file,
/// synced and renamed over the old one, so a reader (the server checking a login) sees the
/// old file or the new one, never half of either. Changes take an exclusive `flock` on
/// `agents.lock` first and re-read the file under it, so two `kefu agent add` at once both
/// land. A line that cannot be read is reported as `file:line: …`, ignored, and kept as it
/// was when the file is rewritten, for a person to fix.
public struct AccountsFile: Sendable {
    public static let fileName = "agents"
    static let header = "# kefu agent accounts: NAME ROLE pbkdf2-sha256$ITERATIONS$SALT$HASH; change them with kefu agent add, passwd, remove"

    public let path: String
    /// The accounts in file order.
    public private(set) var accounts: [AgentAccount] = []
    /// Lines that were not read as accounts, as `file:line: message`.
    public private(set) var notices: [Journal.Notice] = []
    /// Every line as read, so a rewrite keeps comments and lines it could not read.
    private var lines: [Line] = []

    private enum Line: Sendable {
        case account(String)  // by name
        case other(String)
    }

    public static func path(inDataFolder folder: String) -> String {
        (folder as NSString).appendingPathComponent(fileName)
    }

    /// No accounts yet (what a missing file means); written, it starts with a header that
    /// says what the fields are.
    public init(path: String) {
        self.path = path
        lines = [.other(Self.header)]
    }

    /// Reads the file; a missing file has no accounts.
    public static func read(path: String) throws -> AccountsFile {
        var file = AccountsFile(path: path)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return file }
            throw SystemError(call: "open", path: path, code: errno)
        }
        defer { close(fd) }
        let bytes = try POSIX.read(fd, at: 0, count: try POSIX.size(fd, path: path), path: path)
        guard !bytes.isEmpty else { return file }
        file.lines = []
        file.parse(String(decoding: bytes, as: UTF8.self))
        return file
    }

    public func account(named name: String) -> AgentAccount? {
        accounts.first { $0.name == name }
    }

    private mutating func parse(_ text: String) {
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty || fields[0].hasPrefix("#") {
                lines.append(.other(line))
                continue
            }
            do throws(FormatProblem) {
                let account = try Self.account(fields)
                if self.account(named: account.name) != nil {
                    throw FormatProblem("agent \(account.name) already has an account on an earlier line; this one is ignored")
                }
                accounts.append(account)
                lines.append(.account(account.name))
            } catch {
                notices.append(Journal.Notice(path: path, line: lineNumber, message: error.message))
                lines.append(.other(line))
            }
        }
        // The split leaves one empty string after the final newline; it is not a line.
        if case .other("") = lines.last { lines.removeLast() }
    }

    private static func account(_ fields: [Substring]) throws(FormatProblem) -> AgentAccount {
        guard fields.count == 3 else {
            throw FormatProblem("expected NAME ROLE PASSWORD-HASH separated by spaces, found \(fields.count) field\(fields.count == 1 ? "" : "s")")
        }
        let name = String(fields[0])
        if let problem = AgentAccount.problem(withName: name) { throw FormatProblem(problem) }
        guard let role = AgentRole(rawValue: String(fields[1])) else {
            throw FormatProblem("unknown role '\(fields[1])'; the roles are agent and supervisor")
        }
        return AgentAccount(name: name, role: role, password: try PasswordHash(stored: fields[2]))
    }

    /// The file's text: comments and unreadable lines where they were, accounts as they are now.
    func serialized() -> String {
        var out: [String] = []
        for line in lines {
            switch line {
            case .other(let text): out.append(text)
            case .account(let name):
                if let a = account(named: name) { out.append("\(a.name) \(a.role.rawValue) \(a.password)") }
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: Changing

    /// Adds `account`, or replaces the one with its name.
    public mutating func save(_ account: AgentAccount) {
        if let i = accounts.firstIndex(where: { $0.name == account.name }) {
            accounts[i] = account
        } else {
            accounts.append(account)
            lines.append(.account(account.name))
        }
    }

    /// Removes the account; false when there was none by that name.
    @discardableResult
    public mutating func remove(named name: String) -> Bool {
        guard let i = accounts.firstIndex(where: { $0.name == name }) else { return false }
        accounts.remove(at: i)
        lines.removeAll { if case .account(name) = $0 { true } else { false } }
        return true
    }

    /// Reads the file under the lock, lets `change` edit it, and writes it back atomically
    /// (temporary file, `fsync`, `rename`, `fsync` of the folder) before releasing the lock.
    /// Returns what was written, or throws what `change` threw and writes nothing.
    @discardableResult
    public static func update<T>(path: String, _ change: (inout AccountsFile) throws -> T) throws -> (file: AccountsFile, result: T) {
        let folder = (path as NSString).deletingLastPathComponent
        try POSIX.makeDirectory(folder.isEmpty ? "." : folder)
        let lockPath = path + ".lock"
        let lock = try POSIX.open(lockPath, flags: O_RDWR | O_CREAT, mode: 0o600)
        defer { close(lock) }
        try POSIX.lockExclusive(lock, path: lockPath)
        defer { POSIX.unlock(lock) }
        var file = try read(path: path)
        let result = try change(&file)
        try write(Array(file.serialized().utf8), to: path)
        return (file, result)
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        try POSIX.replaceAtomically(path, with: bytes)
    }
}
