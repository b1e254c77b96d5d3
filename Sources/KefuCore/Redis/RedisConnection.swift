#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection to Redis, logged in and on its database, used by one thread at a time.
///
/// `send` pipelines: the commands are written back to back in one write (as far as the
/// kernel takes them) and their replies are read in order, one round trip for the lot. While
/// a large batch is still being written the replies already coming back are read too, so
/// neither side can stall the other with a full buffer.
///
/// Any failure in the middle of an exchange (timeout, close, bytes that are not RESP) breaks
/// the connection for good: a reply that arrives after its timeout would otherwise be taken
/// as the answer to the next command. Error *replies* do not break it.
public final class RedisConnection {
    public let configuration: RedisConfiguration
    /// The server's answer to `HELLO 3` (version, mode, role) on a RESP3 connection.
    public private(set) var hello: RESPValue?
    /// Called with RESP3 pushes that arrive between replies (client-side caching
    /// invalidations, say); they are not replies and never take a reply's place.
    public var onPush: ((RESPValue) -> Void)?
    /// Whether the connection has failed; a broken connection refuses every exchange.
    public private(set) var isBroken = false

    private let tcp: TCPClient
    private var parser: RESPParser
    private var readBuffer = [UInt8](repeating: 0, count: 64 << 10)
    /// Counts for tests and benchmarks: how many exchanges, `send`/`recv` calls and bytes.
    private(set) var statistics = Statistics()

    struct Statistics: Equatable {
        var exchanges = 0
        var writes = 0
        var reads = 0
        var bytesWritten = 0
        var bytesRead = 0
    }

    /// Connects, then logs in, in one round trip: `HELLO 3 [AUTH …] [SETNAME …]` on RESP3, or
    /// `AUTH` and `CLIENT SETNAME` on RESP2, then `SELECT` for a database other than 0.
    public init(configuration: RedisConfiguration) throws(RedisError) {
        self.configuration = configuration
        parser = RESPParser(limits: configuration.limits)
        let url = configuration.url
        do {
            tcp = try TCPClient(host: url.host, port: url.port, deadline: Measure.now() + configuration.connectTimeout.nanoseconds)
        } catch {
            throw Self.failure(error, address: url.address, operation: "connecting", timeout: configuration.connectTimeout)
        }
        try logIn()
    }

    deinit { tcp.close() }

    /// Closes the connection; later exchanges fail with `connectionClosed`.
    public func close() {
        isBroken = true
        tcp.close()
    }

    /// Sends one command and returns its reply; an error reply is returned as `.error`, not thrown.
    public func send(_ command: [RedisArgument]) throws(RedisError) -> RESPValue {
        let replies = try send([command])
        guard let reply = replies.first else { throw .protocolError("no reply to \(Self.name(of: command))") }
        return reply
    }

    /// Sends the commands in one write and returns their replies, in order, one per command
    /// (error replies in place, as `.error`). Commands that answer with several replies or
    /// none (`SUBSCRIBE`, `MONITOR`, `CLIENT REPLY OFF`) do not fit here: use `RedisSubscriber`.
    public func send(_ commands: [[RedisArgument]]) throws(RedisError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        if commands.contains(where: \.isEmpty) {
            throw .invalidCommand("a command needs at least its name, such as GET")
        }
        return try exchange(commands)
    }

    /// Whether the connection can be used for the next command: not broken, not closed by
    /// the server while idle (a restart, an idle `timeout`), and, on RESP2, with no stray
    /// bytes waiting. Checked without blocking before each reuse, so a connection the server
    /// dropped is replaced before a command is written to it rather than after.
    public func isReusable() -> Bool {
        guard !isBroken else { return false }
        let (closed, hasData) = tcp.idleState()
        let strayBytes = configuration.protocolVersion == .resp2 && (hasData || parser.isMidValue)
        if closed || strayBytes {
            close()
            return false
        }
        return true
    }

    // MARK: - For the subscriber, whose replies do not pair with its commands

    /// Writes commands without reading their replies (they stay for `nextValue`).
    func write(_ commands: [[RedisArgument]]) throws(RedisError) {
        guard let first = commands.first else { return }
        let request = RESPEncoder.encode(pipeline: commands)
        try run(operation: "writing \(Self.name(of: first))") { deadline in
            var written = 0
            while written < request.count {
                let ready = try tcp.wait(writable: true, deadline: deadline)
                if ready.writable { written += try writeSome(request, from: written) }
                if ready.readable { try receive() }
            }
        }
    }

    /// The next value already received, or nil.
    func nextValue() throws(RedisError) -> RESPValue? {
        do {
            return try parser.next()
        } catch {
            close()
            throw error
        }
    }

    enum Wait { case data, woken, idle }

    /// Waits for bytes (read into the parser), for `wake` to be readable, or until `deadline`.
    func waitForData(wake: Int32?, deadline: UInt64?) throws(RedisError) -> Wait {
        do {
            let ready = try tcp.wait(wake: wake, deadline: deadline)
            if ready.readable { try receive() }
            return ready.readable ? .data : ready.woken ? .woken : .idle
        } catch TCPClient.Failure.timedOut {
            return .idle
        } catch {
            close()
            throw Self.failure(error, address: configuration.url.address, operation: "waiting for messages", timeout: configuration.commandTimeout)
        }
    }

    // MARK: - Exchanges

    private func logIn() throws(RedisError) {
        let url = configuration.url
        var commands: [[RedisArgument]] = []
        switch configuration.protocolVersion {
        case .resp3:
            var hello: [RedisArgument] = ["HELLO", "3"]
            if let password = url.password { hello += ["AUTH", RedisArgument(url.user ?? "default"), RedisArgument(password)] }
            if let name = configuration.clientName { hello += ["SETNAME", RedisArgument(name)] }
            commands.append(hello)
        case .resp2:
            if let password = url.password {
                commands.append(url.user.map { ["AUTH", RedisArgument($0), RedisArgument(password)] } ?? ["AUTH", RedisArgument(password)])
            }
            if let name = configuration.clientName { commands.append(["CLIENT", "SETNAME", RedisArgument(name)]) }
        }
        if url.database != 0 { commands.append(["SELECT", RedisArgument(url.database)]) }
        guard !commands.isEmpty else { return }
        let replies = try exchange(commands, operation: "logging in")
        for (command, reply) in zip(commands, replies) {
            guard case .error(let message) = reply else { continue }
            close()
            throw Self.loginFailure(command: Self.name(of: command), message: message, url: url)
        }
        if configuration.protocolVersion == .resp3 { hello = replies.first }
    }

    private static func loginFailure(command: String, message: String, url: RedisURL) -> RedisError {
        let protocolProblem = message.hasPrefix("NOPROTO") || message.contains("unknown command")
        switch command {
        case "HELLO" where protocolProblem:
            return .server("\(message) (this server does not speak RESP3, which needs Redis 6 or newer; use protocolVersion .resp2)")
        case "AUTH", "HELLO":
            return .authenticationFailed(address: url.address, message: message)
        case "SELECT":
            return .server("\(message) (SELECT \(url.database) from the URL; the server's `databases` setting allows fewer)")
        default:
            return .server(message)
        }
    }

    private func exchange(_ commands: [[RedisArgument]], operation: String? = nil) throws(RedisError) -> [RESPValue] {
        let request = RESPEncoder.encode(pipeline: commands)
        let waitingFor = operation ?? (commands.count == 1 ? "waiting for the reply to \(Self.name(of: commands[0]))" : "waiting for the replies to \(commands.count) commands")
        statistics.exchanges += 1
        return try run(operation: waitingFor) { deadline in
            var replies: [RESPValue] = []
            replies.reserveCapacity(min(commands.count, 4096))
            var written = 0
            while true {
                while replies.count < commands.count, let value = try parser.next() {
                    if case .push = value, configuration.protocolVersion == .resp3 {
                        onPush?(value)
                        continue
                    }
                    replies.append(value)
                }
                if replies.count == commands.count {
                    // Redis answers only whole commands, so every byte is out by now.
                    guard written == request.count else { throw RedisError.protocolError("replies arrived for commands not yet sent") }
                    return replies
                }
                let ready = try tcp.wait(writable: written < request.count, deadline: deadline)
                if ready.writable { written += try writeSome(request, from: written) }
                if ready.readable { try receive() }
            }
        }
    }

    /// Runs one exchange against the command deadline; any failure breaks the connection.
    private func run<T>(operation: String, _ body: (UInt64) throws -> T) throws(RedisError) -> T {
        guard !isBroken else { throw .connectionClosed(address: configuration.url.address) }
        do {
            return try body(Measure.now() + configuration.commandTimeout.nanoseconds)
        } catch {
            close()
            throw Self.failure(error, address: configuration.url.address, operation: operation, timeout: configuration.commandTimeout)
        }
    }

    private func writeSome(_ request: [UInt8], from offset: Int) throws -> Int {
        let n = try request.withUnsafeBytes { try tcp.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
        statistics.writes += 1
        statistics.bytesWritten += n
        return n
    }

    private func receive() throws {
        let n = try readBuffer.withUnsafeMutableBytes { try tcp.read(into: $0) }
        statistics.reads += 1
        statistics.bytesRead += n
        if n > 0 { parser.append(readBuffer[0..<n]) }
    }

    // MARK: - Words

    private static func name(of command: [RedisArgument]) -> String {
        command.first.map { String(decoding: $0.bytes.prefix(32), as: UTF8.self).uppercased() } ?? "(empty command)"
    }

    private static func failure(_ error: any Error, address: String, operation: String, timeout: Duration) -> RedisError {
        switch error {
        case let error as RedisError:
            return error
        case let failure as TCPClient.Failure:
            switch failure {
            case .timedOut: return .timeout(address: address, operation: operation, after: timeout)
            case .closed: return .connectionClosed(address: address)
            case .refused: return .connectionRefused(address: address)
            case .unresolved(let reason): return .connectionFailed(address: address, reason: "the host name does not resolve: \(reason)")
            case .failed(let call, let code): return .connectionFailed(address: address, reason: "\(call): \(String(cString: strerror(code))) (errno \(code))")
            }
        default:
            return .connectionFailed(address: address, reason: "\(error)")
        }
    }
}
