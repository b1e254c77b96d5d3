/// Everything that can go wrong talking to Redis, each worded to say what to do next.
///
/// Two families: the connection failed (`connectionRefused`, `connectionFailed`, `timeout`,
/// `connectionClosed`, `protocolError`: the connection is dropped and the next command opens
/// a new one), or the server answered with an error (`server`, `noScript`,
/// `authenticationFailed`: the connection is fine, the command is not).
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `redis://` address could not be read.
    case invalidURL(String)
    /// A command that cannot be sent (no name).
    case invalidCommand(String)
    /// Nothing listens at the address.
    case connectionRefused(address: String)
    /// The connection could not be made or broke for another reason (name not found, unreachable, system error).
    case connectionFailed(address: String, reason: String)
    /// No answer within the configured time; `operation` is what was being waited for.
    /// A command that timed out may or may not have run.
    case timeout(address: String, operation: String, after: Duration)
    /// The server closed the connection (restart, `CLIENT KILL`, `timeout` setting, output limit).
    case connectionClosed(address: String)
    /// `AUTH` or `HELLO … AUTH` was refused: wrong user or password, or none given.
    case authenticationFailed(address: String, message: String)
    /// An error reply, with the server's text (`ERR …`, `WRONGTYPE …`).
    case server(String)
    /// `NOSCRIPT`: `EVALSHA` named a script the server does not have (after `SCRIPT FLUSH` or a restart).
    case noScript(String)
    /// The bytes from the server are not RESP, or break a limit this client sets.
    case protocolError(String)

    /// The error for an error reply: `noScript` for `NOSCRIPT`, `server` for everything else.
    public static func reply(_ message: String) -> RedisError {
        message.hasPrefix("NOSCRIPT") ? .noScript(message) : .server(message)
    }

    /// Whether the connection is gone with this error (the next command reconnects); false for
    /// error replies, after which the connection is still in step and is kept.
    public var isConnectionError: Bool {
        switch self {
        case .connectionRefused, .connectionFailed, .timeout, .connectionClosed, .protocolError: true
        case .invalidURL, .invalidCommand, .authenticationFailed, .server, .noScript: false
        }
    }

    public var description: String {
        switch self {
        case .invalidURL(let reason):
            "invalid Redis URL: \(reason); the form is redis://[user:password@]host[:port][/database]"
        case .invalidCommand(let reason):
            "invalid Redis command: \(reason)"
        case .connectionRefused(let address):
            "cannot connect to Redis at \(address): connection refused; is redis-server running and listening on that port?"
        case .connectionFailed(let address, let reason):
            "cannot talk to Redis at \(address): \(reason)"
        case .timeout(let address, let operation, let after):
            "Redis at \(address) did not answer within \(Self.seconds(after)) s (\(operation)); the server may be stopped or overloaded, and a command that timed out may or may not have run"
        case .connectionClosed(let address):
            "Redis at \(address) closed the connection (restarted, or the client was killed or idle too long); the next command reconnects"
        case .authenticationFailed(let address, let message):
            "Redis at \(address) refused the credentials: \(message); check the user and password in the redis:// URL (percent-encode @ : / % in them)"
        case .server(let message):
            "Redis error: \(message)"
        case .noScript(let message):
            "Redis does not have the script: \(message); load it with SCRIPT LOAD (evalScript does this itself)"
        case .protocolError(let reason):
            "Redis protocol error: \(reason); the connection was dropped"
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}
