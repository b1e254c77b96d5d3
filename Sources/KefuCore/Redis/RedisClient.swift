import Synchronization

/// A Redis client any thread may use: one connection, opened on first use and reopened after
/// it fails, with commands from several threads taking turns on it.
///
/// Reconnecting: a connection found closed while idle (the server restarted) is replaced
/// before the next command is written. A failed connect is retried after a wait that doubles
/// from `reconnectDelay` up to `maxReconnectDelay`; until then commands fail at once with the
/// last connect error, so a server that is down costs callers no waiting and receives no
/// storm of connects. A command whose connection failed *during* the exchange is not sent
/// again by itself, since it may have run (`INCR` twice is not `INCR`); the error says so and
/// the next command reconnects.
///
/// One connection serialises the callers; a service that needs more in flight at once keeps
/// several clients, or pipelines.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let state: Mutex<State>

    private struct State {
        var connection: RedisConnection?
        /// Connect attempts that failed in a row.
        var failures = 0
        /// No connect before this `Measure.now()` time.
        var retryAt: UInt64 = 0
        var lastFailure: RedisError?
        /// Script source → its SHA-1 as the server reported it.
        var scripts: [String: String] = [:]
        var connectionsOpened = 0
        /// Round trips made, over every connection.
        var exchanges = 0
    }

    public init(configuration: RedisConfiguration) {
        self.configuration = configuration
        state = Mutex(State())
    }

    /// A client for a `redis://` URL with the default timeouts.
    public convenience init(_ url: String) throws(RedisError) {
        self.init(configuration: try RedisConfiguration(url))
    }

    /// How many connections this client has opened (1 until a reconnect).
    public var connectionsOpened: Int { state.withLock { $0.connectionsOpened } }

    /// How many round trips (commands, pipelines, script loads) this client has made.
    public var exchanges: Int { state.withLock { $0.exchanges } }

    /// Runs one command: `try client.command("SET", key, value)`. An error reply is thrown
    /// (`RedisError.server` with its text, or `noScript`).
    public func command(_ arguments: any RedisArgumentConvertible...) throws(RedisError) -> RESPValue {
        try command(arguments.map(\.redisArgument))
    }

    /// Runs one command given as an array of arguments.
    public func command(_ arguments: [RedisArgument]) throws(RedisError) -> RESPValue {
        try withConnection { connection, _ throws(RedisError) in try connection.send(arguments).checked() }
    }

    /// Runs the commands in one round trip and returns one reply per command, in order. Error
    /// replies stay in place as `.error` (one failed command does not hide the others'
    /// results); `checked()` turns one into a throw.
    public func pipeline(_ commands: [[RedisArgument]]) throws(RedisError) -> [RESPValue] {
        try withConnection { connection, _ throws(RedisError) in try connection.send(commands) }
    }

    /// Runs a script with `EVALSHA`. The first call for a script without a known SHA-1 loads
    /// it (`SCRIPT LOAD`) and keeps the hash; a `NOSCRIPT` reply is answered with `SCRIPT LOAD`
    /// and `EVALSHA` again, both in one round trip. A script's own error is thrown as `server`.
    public func evalScript(_ script: RedisScript, keys: [RedisArgument] = [], args: [RedisArgument] = []) throws(RedisError) -> RESPValue {
        func evalsha(_ sha: String) -> [RedisArgument] {
            ["EVALSHA", RedisArgument(sha), RedisArgument(keys.count)] + keys + args
        }
        let load: [RedisArgument] = ["SCRIPT", "LOAD", RedisArgument(script.source)]
        return try withConnection { connection, state throws(RedisError) in
            guard let known = script.sha1 ?? state.scripts[script.source] else {
                let sha = try Self.sha(from: connection.send(load))
                state.scripts[script.source] = sha
                return try connection.send(evalsha(sha)).checked()
            }
            let reply = try connection.send(evalsha(known))
            guard case .error(let message) = reply, message.hasPrefix("NOSCRIPT") else { return try reply.checked() }
            let replies = try connection.send([load, evalsha(known)])
            let sha = try Self.sha(from: replies[0])
            state.scripts[script.source] = sha
            // A wrong `RedisScript.sha1` is still NOSCRIPT after the load: run by the real hash.
            return sha == known ? try replies[1].checked() : try connection.send(evalsha(sha)).checked()
        }
    }

    /// Runs one script for each of `calls` (keys and arguments) in one round trip, and returns
    /// one reply per call, in order; a script's own error stays in place as `.error`. Calls
    /// answered `NOSCRIPT` (the server lost its scripts) are run again after `SCRIPT LOAD`,
    /// in one more round trip; the others are never run twice.
    public func evalScripts(_ script: RedisScript, _ calls: [(keys: [RedisArgument], args: [RedisArgument])]) throws(RedisError) -> [RESPValue] {
        guard !calls.isEmpty else { return [] }
        func evalsha(_ sha: String, _ call: (keys: [RedisArgument], args: [RedisArgument])) -> [RedisArgument] {
            ["EVALSHA", RedisArgument(sha), RedisArgument(call.keys.count)] + call.keys + call.args
        }
        let load: [RedisArgument] = ["SCRIPT", "LOAD", RedisArgument(script.source)]
        return try withConnection { connection, state throws(RedisError) in
            var sha = script.sha1 ?? state.scripts[script.source]
            if sha == nil {
                sha = try Self.sha(from: connection.send(load))
                state.scripts[script.source] = sha
            }
            var replies = try connection.send(calls.map { evalsha(sha!, $0) })
            let lost = replies.indices.filter { if case .error(let m) = replies[$0] { m.hasPrefix("NOSCRIPT") } else { false } }
            guard !lost.isEmpty else { return replies }
            let again = try connection.send([load] + lost.map { evalsha(sha!, calls[$0]) })
            state.scripts[script.source] = try Self.sha(from: again[0])
            for (i, reply) in zip(lost, again.dropFirst()) { replies[i] = reply }
            return replies
        }
    }

    /// `PING`: opens the connection if needed and checks the server answers.
    public func ping() throws(RedisError) {
        let reply = try command("PING")
        guard reply == .simpleString("PONG") else { throw .protocolError("PING answered \(reply), not PONG") }
    }

    /// Closes the connection; the next command opens a new one.
    public func close() {
        state.withLock { state in
            state.connection?.close()
            state.connection = nil
        }
    }

    // MARK: - The connection

    private func withConnection<T: Sendable>(_ body: (RedisConnection, inout State) throws(RedisError) -> T) throws(RedisError) -> T {
        try state.withLock { (state: inout State) throws(RedisError) -> T in
            let connection = try connected(&state)
            let before = connection.statistics.exchanges
            defer { state.exchanges += connection.statistics.exchanges - before }
            do throws(RedisError) {
                return try body(connection, &state)
            } catch {
                if connection.isBroken { state.connection = nil }
                throw error
            }
        }
    }

    private func connected(_ state: inout State) throws(RedisError) -> RedisConnection {
        if let connection = state.connection {
            if connection.isReusable() { return connection }
            state.connection = nil
        }
        if let last = state.lastFailure, Measure.now() < state.retryAt { throw last }
        do throws(RedisError) {
            let connection = try RedisConnection(configuration: configuration)
            state.connection = connection
            state.failures = 0
            state.lastFailure = nil
            state.connectionsOpened += 1
            return connection
        } catch {
            state.failures += 1
            state.retryAt = Measure.now() + configuration.backoff(afterFailures: state.failures).nanoseconds
            state.lastFailure = error
            throw error
        }
    }

    private static func sha(from reply: RESPValue) throws(RedisError) -> String {
        let checked = try reply.checked()
        guard let sha = checked.string, sha.count == 40 else {
            throw .protocolError("SCRIPT LOAD answered \(checked), not a SHA-1")
        }
        return sha
    }
}
