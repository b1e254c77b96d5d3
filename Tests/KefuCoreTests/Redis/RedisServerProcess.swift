import Foundation
@testable import KefuCore

/// A real `redis-server` (Debian's package) for one test: on a free loopback port, with its
/// files in a scratch folder, nothing saved unless asked. `stop()`/`start()` restart it on
/// the same port and folder; `pause()`/`resume()` freeze it with SIGSTOP/SIGCONT, so it keeps
/// its connections and answers nothing. `remove()` (call it in a `defer`) kills it and
/// deletes the folder; `deinit` does too, in case a test forgot.
///
/// Missing `redis-server` is an error, not a skip: the tests that need it must fail where it
/// is not installed, and say how to install it.
final class RedisServerProcess: @unchecked Sendable {
    struct NotInstalled: Error, CustomStringConvertible {
        var description: String {
            "redis-server is not installed: run `apt-get install redis-server` (Debian's package; .ci/run installs it when missing)"
        }
    }

    struct DidNotStart: Error, CustomStringConvertible {
        let description: String
    }

    private(set) var port: UInt16 = 0
    let folder: String
    private let executable: String
    private let arguments: [String]
    private var pid: pid_t?

    /// Starts a server. `arguments` are extra `redis-server` options (`--requirepass x`);
    /// `appendOnly` keeps every write in an fsynced append-only file, so data survives a restart.
    init(arguments: [String] = [], appendOnly: Bool = false) throws {
        executable = try Self.findExecutable()
        folder = Scratch.folder("redis")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.arguments = arguments + ["--appendonly", appendOnly ? "yes" : "no", "--appendfsync", "always"]
        // The free port is found by binding to port 0 and closing; another process may take
        // it before redis binds it, so a failed start tries another port.
        var lastError: Error = DidNotStart(description: "no attempt")
        for _ in 0..<3 {
            port = try Self.freePort()
            do {
                try start()
                return
            } catch {
                lastError = error
                stop()
            }
        }
        try? FileManager.default.removeItem(atPath: folder)
        throw lastError
    }

    deinit { remove() }

    var url: String { "redis://127.0.0.1:\(port)" }

    func configuration(_ url: String? = nil, commandTimeout: Duration = .seconds(10), protocolVersion: RedisProtocolVersion = .resp2) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url ?? self.url)
        configuration.commandTimeout = commandTimeout
        configuration.connectTimeout = .seconds(5)
        configuration.protocolVersion = protocolVersion
        return configuration
    }

    /// Starts (or restarts) the server and waits until it answers PING.
    func start() throws {
        let pid = try Self.spawn(executable, ["--port", String(port), "--bind", "127.0.0.1", "--dir", folder,
                                              "--save", "", "--daemonize", "no", "--logfile", folder + "/redis.log"] + arguments)
        self.pid = pid
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if hasExited(pid) {
                self.pid = nil
                throw DidNotStart(description: "redis-server exited at start: \(log())")
            }
            if answersPing() { return }
            usleep(20_000)
        }
        throw DidNotStart(description: "redis-server did not answer PING within 20 s: \(log())")
    }

    /// Stops the server (SIGTERM, SIGKILL after 10 s) and waits until it has exited.
    func stop() {
        guard let pid else { return }
        self.pid = nil
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while !hasExited(pid) {
            if Date() > deadline { kill(pid, SIGKILL) }
            usleep(5_000)
        }
    }

    private func hasExited(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid || (result < 0 && errno == ECHILD)
    }

    /// `posix_spawn` rather than `Process`: the child must start with no signal blocked.
    /// Tests run on Dispatch threads, which block signals, and a child inherits its parent
    /// thread's mask: a redis-server started that way ignores SIGTERM.
    private static func spawn(_ executable: String, _ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw DidNotStart(description: "posix_spawn \(executable): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Kills the server with SIGKILL (no chance to write anything more) and waits for it.
    func kill9() {
        guard let pid else { return }
        self.pid = nil
        kill(pid, SIGKILL)
        while !hasExited(pid) { usleep(2_000) }
    }

    /// Freezes the server: connections stay open and nothing is answered.
    func pause() {
        if let pid { kill(pid, SIGSTOP) }
    }

    func resume() {
        if let pid { kill(pid, SIGCONT) }
    }

    /// Stops the server and deletes its folder.
    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func log() -> String {
        (try? String(contentsOfFile: folder + "/redis.log", encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: " | ") ?? "(no log)"
    }

    /// Sends a raw PING; `+PONG`, or `-NOAUTH` when a password is set, means it is up.
    private func answersPing() -> Bool {
        guard let tcp = try? TCPClient(host: "127.0.0.1", port: port, deadline: Measure.now() + 1_000_000_000) else { return false }
        defer { tcp.close() }
        let ping = Array("*1\r\n$4\r\nPING\r\n".utf8)
        let deadline = Measure.now() + 2_000_000_000
        guard (try? ping.withUnsafeBytes({ try tcp.write($0) })) == ping.count else { return false }
        var byte = [UInt8](repeating: 0, count: 64)
        while (try? tcp.wait(deadline: deadline)) != nil {
            guard let n = try? byte.withUnsafeMutableBytes({ try tcp.read(into: $0) }) else { return false }
            // `-LOADING` while it reads its append-only file is not ready yet.
            if n > 0 { return byte[0] == UInt8(ascii: "+") || byte.starts(with: Array("-NOAUTH".utf8)) }
        }
        return false
    }

    static func findExecutable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        for folder in folders where FileManager.default.isExecutableFile(atPath: folder + "/redis-server") {
            return folder + "/redis-server"
        }
        throw NotInstalled()
    }

    /// A loopback port nothing listens on right now.
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DidNotStart(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw DidNotStart(description: "bind: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }
}

/// Things that happen on other threads, collected so a test can wait for the one it expects.
final class Recorder<Item: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []

    func append(_ item: Item) {
        condition.lock()
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    var all: [Item] {
        condition.lock()
        defer { condition.unlock() }
        return items
    }

    /// Waits until `predicate` holds for what has been recorded (true), or `seconds` pass (false).
    func wait(seconds: Double = 20, until predicate: ([Item]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(items) {
            guard condition.wait(until: deadline) else { return predicate(items) }
        }
        return true
    }
}

/// The `RedisError` a call throws, or nil when it does not throw one.
func redisError(_ body: () throws -> Void) -> RedisError? {
    do {
        try body()
        return nil
    } catch let error as RedisError {
        return error
    } catch {
        return nil
    }
}
