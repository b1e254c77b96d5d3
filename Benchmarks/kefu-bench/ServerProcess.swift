import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

/// `kefu serve` as a child process on free loopback ports, with a data folder of its own,
/// so that its memory is its own (read from /proc) and it shares the machine with the load
/// generator as it would with real clients.
final class ServerProcess {
    let process = Process()
    let customer: Socket.Address
    let agent: Socket.Address
    /// The HTTP and WebSocket listener, when started with `http: true`.
    let http: Socket.Address?
    let data: String

    /// - Parameters:
    ///   - options: replace the load generator's usual limits (`--max-connections 10000 --rate 50`).
    ///   - environment: added to the server's environment.
    ///   - http: also listen for HTTP and WebSocket (`--http-listen`).
    init(binary: URL = Bench.sibling("kefu"), kb: String, options: [String]? = nil, environment: [String: String] = [:], http: Bool = false) throws {
        data = NSTemporaryDirectory() + "kefu-load-" + UUID().uuidString
        process.executableURL = binary
        process.arguments = ["serve", "--kb", kb, "--data", data, "--customer-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0",
                             "--idle-timeout", "600"] + (http ? ["--http-listen", "127.0.0.1:0"] : [])
            + (options ?? ["--max-connections", "10000", "--rate", "50"])
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !(text.contains("listening customer") && text.contains("listening agent") && (!http || text.contains("listening http"))) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw SystemError(call: "kefu serve", path: "startup", code: EIO) }
            text += String(decoding: chunk, as: UTF8.self)
        }
        func address(_ kind: String) -> Socket.Address? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening \(kind) ") }) else { return nil }
            return Socket.Address(String(line.split(separator: " ")[2]))
        }
        customer = address("customer")!
        agent = address("agent")!
        self.http = address("http")
    }

    /// Resident memory of the server in KiB, from /proc.
    func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }

    /// Adds an agent account to the server's data folder with `kefu agent add` (the server
    /// reads the file again at the next login); returns the password it printed.
    func addAgent(_ name: String) throws -> String {
        let add = Process()
        add.executableURL = process.executableURL
        add.arguments = ["agent", "add", name, "--data", data]
        let out = Pipe()
        add.standardOutput = out
        add.standardError = FileHandle.nullDevice
        try add.run()
        let password = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        add.waitUntilExit()
        guard add.terminationStatus == 0, !password.isEmpty else { throw BenchError("kefu agent add \(name) failed") }
        return password
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: data)
    }
}

/// A do-nothing responder (`kefu-bench echo-server` or `kefu-bench http-floor`) as a child
/// process, so that it runs beside the client as `kefu serve` does.
final class FloorProcess {
    let process = Process()
    let address: Socket.Address

    init(_ mode: String) throws {
        process.executableURL = Bench.sibling("kefu-bench")
        process.arguments = [mode]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw SystemError(call: "kefu-bench \(mode)", path: "startup", code: EIO) }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, let address = Socket.Address(String(line.split(separator: " ").last ?? "")) else {
            throw SystemError(call: "kefu-bench \(mode)", path: "startup", code: EIO)
        }
        self.address = address
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}
