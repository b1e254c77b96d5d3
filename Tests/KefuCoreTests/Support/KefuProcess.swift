import Foundation
import Testing

/// Where the package is, and the built `kefu` binary run the way a user or a script runs it:
/// the one copy of both for every test that needs them.
enum KefuProcess {
    /// The package's root folder (this file is `Tests/KefuCoreTests/Support/KefuProcess.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A child that exits early (a usage error) must not kill the test run with SIGPIPE
    /// when the test writes to its standard input.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// The built binary: beside the test bundle, else in `.build/debug` or `.build/release`.
    static var binary: URL? {
        _ = ignoreBrokenPipes
        let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kefu")
        let candidates = [sibling] + ["debug", "release"].map { packageRoot.appendingPathComponent(".build/\($0)/kefu") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs `kefu ARGUMENTS` to the end: its status, standard output and standard error.
    static func run(_ arguments: [String], input: String? = nil, environment: [String: String] = [:],
                    in directory: URL = packageRoot) throws -> (status: Int32, out: String, err: String) {
        let binary = try #require(Self.binary, "build the kefu executable first (swift build)")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.currentDirectoryURL = directory
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        if let input {
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}
