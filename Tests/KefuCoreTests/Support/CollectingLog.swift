import Foundation
@testable import KefuCore

/// A server's notices kept for the test to read instead of printed: the test log stays quiet,
/// and a test can check that the operator was told.
final class CollectingLog: DiagnosticLog, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String] = []

    func note(_ line: String) { lock.withLock { kept.append(line) } }

    var lines: [String] { lock.withLock { kept } }

    /// Waits up to `seconds` for a line containing `text`.
    func waitFor(_ text: String, seconds: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if lines.contains(where: { $0.contains(text) }) { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }
}
