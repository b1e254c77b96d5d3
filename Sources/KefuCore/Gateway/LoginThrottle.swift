import Foundation

/// How hard failed agent logins are slowed; `GatewayConfiguration.login`.
public struct LoginPolicy: Sendable {
    /// Failures within `window` that lock a name or an address out for `window`.
    public var maxFailures = 10
    public var window: TimeInterval = 600
    /// After n failures the next try is considered only `firstDelay × 2ⁿ⁻¹` after the last
    /// failure (at most `maxDelay`): 1, 2, 4 … 60 seconds.
    public var firstDelay: TimeInterval = 1
    public var maxDelay: TimeInterval = 60

    public init() {}
}

/// Failed logins per agent name and per client address, deciding whether the next try is
/// checked at all.
///
/// Both are counted because each alone can be side-stepped: one address guessing many names,
/// or many addresses guessing one name. A try during the back-off or a lock-out is refused
/// without checking the password: it costs the server nothing, and the guesser learns nothing.
/// A success clears the name's failures but never the address's, so a guesser with an
/// account of their own cannot wipe their record by logging in.
///
/// The price is that anyone can lock an agent's name out by failing on purpose; the agent
/// is told when they may try again, and the server log names the address.
struct LoginThrottle {
    enum Verdict: Equatable {
        case allowed
        /// Within the back-off after a failure: try again after this many seconds.
        case wait(TimeInterval)
        /// Too many failures: locked for this many more seconds.
        case lockedOut(TimeInterval)
    }

    private struct Record {
        var failures: [Date] = []
        var lockedUntil: Date?
    }

    let policy: LoginPolicy
    private var names: [String: Record] = [:]
    private var addresses: [String: Record] = [:]
    private var failuresSincePrune = 0

    init(policy: LoginPolicy) { self.policy = policy }

    /// Whether a try as `name` from `address` may be checked now.
    func verdict(name: String, address: String, now: Date) -> Verdict {
        let both = [verdict(names[name], now: now), verdict(addresses[address], now: now)]
        if let locked = both.compactMap({ if case .lockedOut(let s) = $0 { s } else { nil } }).max() { return .lockedOut(locked) }
        if let wait = both.compactMap({ if case .wait(let s) = $0 { s } else { nil } }).max() { return .wait(wait) }
        return .allowed
    }

    /// Records a failed try; returns true when it locked the name or the address out.
    mutating func failed(name: String, address: String, now: Date) -> Bool {
        prune(now: now)
        let lockedName = fail(&names[name, default: Record()], now: now)
        let lockedAddress = fail(&addresses[address, default: Record()], now: now)
        return lockedName || lockedAddress
    }

    mutating func succeeded(name: String) {
        names[name] = nil
    }

    /// The failures of `name` and `address` within the window, the larger of the two.
    func recentFailures(name: String, address: String, now: Date) -> Int {
        [names[name], addresses[address]].map { $0?.failures.filter { now.timeIntervalSince($0) < policy.window }.count ?? 0 }.max() ?? 0
    }

    private func verdict(_ record: Record?, now: Date) -> Verdict {
        guard let record else { return .allowed }
        if let until = record.lockedUntil, until > now { return .lockedOut(until.timeIntervalSince(now)) }
        let recent = record.failures.filter { now.timeIntervalSince($0) < policy.window }
        guard let last = recent.last else { return .allowed }
        let delay = min(policy.maxDelay, policy.firstDelay * pow(2, Double(recent.count - 1)))
        let ready = last.addingTimeInterval(delay)
        return ready > now ? .wait(ready.timeIntervalSince(now)) : .allowed
    }

    private func fail(_ record: inout Record, now: Date) -> Bool {
        record.failures.removeAll { now.timeIntervalSince($0) >= policy.window }
        record.failures.append(now)
        guard record.failures.count >= policy.maxFailures else { return false }
        record.failures.removeAll()
        record.lockedUntil = now.addingTimeInterval(policy.window)
        return true
    }

    /// Forgets names and addresses with nothing recent, every 1,024 failures, so a scan from
    /// many addresses does not grow the tables for ever.
    private mutating func prune(now: Date) {
        failuresSincePrune += 1
        guard failuresSincePrune >= 1024 else { return }
        failuresSincePrune = 0
        let window = policy.window
        func stale(_ r: Record) -> Bool {
            (r.lockedUntil.map { $0 <= now } ?? true) && r.failures.allSatisfy { now.timeIntervalSince($0) >= window }
        }
        names = names.filter { !stale($0.value) }
        addresses = addresses.filter { !stale($0.value) }
    }
}
