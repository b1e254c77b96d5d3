/// Which protocol a connection asks for.
public enum RedisProtocolVersion: Sendable, Equatable {
    /// RESP2: every Redis; maps come back as flat arrays (`RESPValue.pairs` reads both).
    case resp2
    /// RESP3 through `HELLO 3` (Redis 6+): typed maps, sets, doubles, booleans, and pub/sub
    /// messages as out-of-band pushes.
    case resp3
}

/// How to reach Redis and how long to wait for it; shared by `RedisConnection`,
/// `RedisClient` and `RedisSubscriber`.
public struct RedisConfiguration: Sendable, Equatable {
    public var url: RedisURL
    /// The longest a TCP connect may take.
    public var connectTimeout: Duration
    /// The longest one exchange may take: writing a command or pipeline and reading all of
    /// its replies (the login on a new connection counts as one exchange too).
    public var commandTimeout: Duration
    public var protocolVersion: RedisProtocolVersion
    /// Shown by `CLIENT LIST`, so an operator can tell which process a connection is.
    public var clientName: String?
    public var limits: RESPLimits
    /// The wait after the first failed reconnect; it doubles with each further failure…
    public var reconnectDelay: Duration
    /// …up to this.
    public var maxReconnectDelay: Duration
    /// How long a subscriber's connection may be silent before it sends `PING` to find out
    /// whether the server is still there (a stopped or unplugged server sends no close).
    public var healthCheckInterval: Duration

    public init(url: RedisURL = RedisURL(),
                connectTimeout: Duration = .seconds(2),
                commandTimeout: Duration = .seconds(5),
                protocolVersion: RedisProtocolVersion = .resp2,
                clientName: String? = nil,
                limits: RESPLimits = RESPLimits(),
                reconnectDelay: Duration = .milliseconds(50),
                maxReconnectDelay: Duration = .seconds(5),
                healthCheckInterval: Duration = .seconds(15)) {
        self.url = url
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.protocolVersion = protocolVersion
        self.clientName = clientName
        self.limits = limits
        self.reconnectDelay = reconnectDelay
        self.maxReconnectDelay = maxReconnectDelay
        self.healthCheckInterval = healthCheckInterval
    }

    /// The configuration for a `redis://` URL, with the default timeouts.
    public init(_ url: String) throws(RedisError) {
        self.init(url: try RedisURL(url))
    }

    /// The reconnect wait after `failures` failed attempts in a row (1 or more).
    func backoff(afterFailures failures: Int) -> Duration {
        var delay = reconnectDelay
        for _ in 1..<max(failures, 1) {
            delay *= 2
            if delay >= maxReconnectDelay { return maxReconnectDelay }
        }
        return min(delay, maxReconnectDelay)
    }
}

extension Duration {
    /// Whole nanoseconds (negative durations count as zero), for `Measure.now()` deadlines.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max / 2 : whole + UInt64(attoseconds / 1_000_000_000)
    }
}
