import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks agent logins (`AUTH name password`) on a thread of its own.
///
/// A password check is PBKDF2 with 100,000 iterations, tens of milliseconds by design; on
/// the engine thread every customer would wait for every login, and a storm of wrong
/// passwords would stall them all. Here logins wait for each other instead, one check at a
/// time (at most one core), and the throttle refuses most of a storm before any hashing.
///
/// The accounts file is looked at on every login and read again when it changed (its inode,
/// size or modification time), so `kefu agent add` on a running server takes effect at once.
final class AgentAuthenticator: @unchecked Sendable {
    struct Attempt: Sendable {
        let connection: Int
        let name: String
        let password: String
        let address: String
    }

    struct Result: Sendable {
        enum Outcome: Sendable, Equatable {
            case accepted(AgentRole)
            /// The `ERR …` line to answer.
            case refused(String)
        }
        let connection: Int
        let name: String
        let address: String
        let outcome: Outcome
    }

    /// For `STATS`.
    struct Figures: Sendable {
        var logins = 0
        /// Wrong password or unknown name.
        var failures = 0
        /// Tries refused unchecked during a back-off or a lock-out.
        var throttled = 0
        /// Times a name or an address was locked out.
        var lockouts = 0
    }

    private let path: String
    private let finished: @Sendable (Result) -> Void
    private let queue = BatchQueue<Attempt>()
    private let figuresLock = NSLock()
    private var counted = Figures()
    /// Touched only on the authenticator thread.
    private var throttle: LoginThrottle
    private var book: AccountsFile
    private var bookVersion: FileVersion?
    private var decoy: PasswordHash?

    private let log: any DiagnosticLog

    init(accountsPath: String, policy: LoginPolicy, log: any DiagnosticLog = StandardErrorLog(),
         finished: @escaping @Sendable (Result) -> Void) {
        self.log = log
        path = accountsPath
        self.finished = finished
        throttle = LoginThrottle(policy: policy)
        book = AccountsFile(path: accountsPath)
    }

    func start() {
        reloadIfChanged()
        if book.accounts.isEmpty {
            tell("no agent accounts in \(path) yet; create one with `kefu agent add NAME --data \((path as NSString).deletingLastPathComponent)` (the server picks it up at the next login)")
        }
        let thread = Thread { [self] in
            while let attempts = queue.takeAll() {
                for attempt in attempts { finished(check(attempt)) }
            }
        }
        thread.name = "kefu-auth"
        thread.start()
    }

    func submit(_ attempt: Attempt) { queue.put(attempt) }

    func stop() { queue.close() }

    func figures() -> Figures { figuresLock.withLock { counted } }

    private func count(_ change: (inout Figures) -> Void) { figuresLock.withLock { change(&counted) } }

    /// Decides one login: the throttle first, then (only if it allows) the password.
    private func check(_ attempt: Attempt) -> Result {
        let now = Date()
        func result(_ outcome: Result.Outcome) -> Result {
            Result(connection: attempt.connection, name: attempt.name, address: attempt.address, outcome: outcome)
        }
        switch throttle.verdict(name: attempt.name, address: attempt.address, now: now) {
        case .lockedOut(let seconds):
            count { $0.throttled += 1 }
            return result(.refused(Self.lockedOut(seconds)))
        case .wait(let seconds):
            count { $0.throttled += 1 }
            let whole = max(1, Int(seconds.rounded(.up)))
            return result(.refused("ERR too many failed logins; try again in \(whole) second\(whole == 1 ? "" : "s")"))
        case .allowed:
            break
        }
        reloadIfChanged()
        if book.accounts.isEmpty {
            return result(.refused("ERR no agent accounts on this server yet; an administrator creates one with `kefu agent add NAME`"))
        }
        let account = book.account(named: attempt.name)
        // An unknown name costs the same hashing as a known one, so timing does not tell
        // a guesser which names exist.
        let hash = account?.password ?? decoyHash()
        if hash.matches(attempt.password), let account {
            throttle.succeeded(name: account.name)
            count { $0.logins += 1 }
            return result(.accepted(account.role))
        }
        count { $0.failures += 1 }
        let locked = throttle.failed(name: attempt.name, address: attempt.address, now: now)
        let recent = throttle.recentFailures(name: attempt.name, address: attempt.address, now: now)
        if locked {
            count { $0.lockouts += 1 }
            tell("failed login as \(attempt.name) from \(attempt.address); locked out for \(Int(throttle.policy.window / 60)) minutes after \(throttle.policy.maxFailures) failures")
            return result(.refused(Self.lockedOut(throttle.policy.window)))
        }
        tell("failed login as \(attempt.name) from \(attempt.address) (\(recent) failed for this name or address in the last \(Int(throttle.policy.window / 60)) minutes; \(throttle.policy.maxFailures) lock out)")
        return result(.refused("ERR authentication failed"))
    }

    static func lockedOut(_ seconds: TimeInterval) -> String {
        let minutes = max(1, Int((seconds / 60).rounded(.up)))
        return "ERR locked out: too many failed logins; try again in \(minutes) minute\(minutes == 1 ? "" : "s")"
    }

    /// A hash no password matches (random bytes, not the hash of anything), as costly to
    /// check as the accounts' own.
    private func decoyHash() -> PasswordHash {
        let iterations = book.accounts.first?.password.iterations ?? PasswordHash.defaultIterations
        if let decoy, decoy.iterations == iterations { return decoy }
        let made = PasswordHash.unmatchable(iterations: iterations)
        decoy = made
        return made
    }

    private func reloadIfChanged() {
        let version = FileVersion(path: path)
        guard version != bookVersion else { return }
        bookVersion = version
        do {
            book = try AccountsFile.read(path: path)
            for notice in book.notices { tell("\(notice)") }
            if version != nil { tell("read \(book.accounts.count) agent account\(book.accounts.count == 1 ? "" : "s") from \(path)") }
        } catch {
            tell("cannot read the agent accounts: \(error); logins are refused until it is readable")
            book = AccountsFile(path: path)
        }
    }

    private func tell(_ text: String) {
        log.note("kefu serve: \(text)")
    }
}

/// What tells that a file was replaced or changed: `rename` gives a new inode, an edit in
/// place a new size or modification time. Nil for a missing file.
struct FileVersion: Equatable {
    let device: UInt64, inode: UInt64, size: Int64, modified: Int64, modifiedNanoseconds: Int64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
    }
}
