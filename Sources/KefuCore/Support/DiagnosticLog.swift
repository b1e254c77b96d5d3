import Foundation

/// Where the server's parts tell the operator what they should know (a reload refused, the
/// disk full, a login taken over): stderr for `kefu serve`, a collecting log in the tests,
/// so a test can check what was said and the test log stays quiet.
public protocol DiagnosticLog: Sendable {
    /// One line; the log makes it safe to print (no control characters from client input).
    func note(_ line: String)
}

/// Standard error, one sanitised line at a time.
public struct StandardErrorLog: DiagnosticLog {
    public init() {}

    public func note(_ line: String) {
        FileHandle.standardError.write(Data((LineSanitizer.diagnostic(line) + "\n").utf8))
    }
}
