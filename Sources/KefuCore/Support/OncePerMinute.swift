import Foundation

/// Lets a failure that repeats be told at most once a minute: a full disk or an unreachable
/// store fails every batch, and a line per batch would bury everything else on stderr.
struct OncePerMinute {
    private var last: Date?

    /// Whether to tell now; true at most once a minute.
    mutating func allows(at now: Date) -> Bool {
        if let last, now.timeIntervalSince(last) < 60 { return false }
        last = now
        return true
    }
}
