/// A Lua script run with `EVALSHA`, so its text crosses the network once per server rather
/// than with every call.
///
/// The SHA-1 may be given when it is known; otherwise `RedisClient` takes it from the
/// server's answer to `SCRIPT LOAD` the first time and remembers it, as real clients do.
/// Either way a `NOSCRIPT` (after `SCRIPT FLUSH`, a restart, a fail-over) is answered by
/// loading the script again and running it once more.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    /// The script's SHA-1 in lower-case hex, when known in advance.
    public let sha1: String?

    public init(_ source: String, sha1: String? = nil) {
        self.source = source
        self.sha1 = sha1?.lowercased()
    }
}
