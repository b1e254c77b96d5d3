import Foundation

/// Per-customer conversation state on Redis, each with a version, changed only by
/// compare-and-set: conversations that follow a customer from one gateway instance to
/// another (`SharedConversations`, see `docs/SCALING.md`).
///
/// One hash per customer, `kefu:conversation:{<sha256 of the customer key>}` (`v`, the
/// version; `state`, the bytes), expiring an idle horizon after its last save, as an idle
/// conversation ends; the turn beside it, `…:turn` in the same hash slot, holding the
/// instance whose turn it is until it ends or its lease runs out. Every decision is one Lua
/// script, so it is atomic whatever other instances do meanwhile.
public final class RedisConversationRecords: SharedConversations, @unchecked Sendable {
    public let client: RedisClient
    public let prefix: String

    public init(client: RedisClient, prefix: String = "kefu:") {
        self.client = client
        self.prefix = prefix
    }

    /// Hashed: a customer key holds any printable text, braces included, which would move a
    /// Cluster hash tag; the digest is a tag of its own.
    func key(_ customer: String) -> String { "\(prefix)conversation:{\(SHA256.hex(Array(customer.utf8)))}" }
    func turnKey(_ customer: String) -> String { key(customer) + ":turn" }

    /// One round trip for all: each turn taken and, when newer than `known`, the state.
    public func beginTurns(_ turns: [(customer: String, known: Int64)], owner: String) throws -> [SharedTurn] {
        let lease = Int64((SharedTurn.lease * 1000).rounded())
        let replies = try client.evalScripts(Self.beginTurnScript, turns.map { turn in
            (keys: [RedisArgument(key(turn.customer)), RedisArgument(turnKey(turn.customer))],
             args: [RedisArgument(turn.known), RedisArgument(owner), RedisArgument(lease)])
        })
        return try replies.map { reply in
            guard let items = try reply.checked().array, let code = items.first?.integer else {
                throw RedisStoreError.unreadable("the turn script answered \(reply)")
            }
            switch code {
            case -1: return .busy
            case 0: return SharedTurn.none
            case 1: return .unchanged
            default:
                guard items.count == 3, let version = items[1].integer, let state = items[2].bytes else {
                    throw RedisStoreError.unreadable("the turn script answered \(reply)")
                }
                return .stored(state, version: version)
            }
        }
    }

    /// One round trip for all: compare-and-set, then each turn given back (when still `owner`'s).
    public func endTurns(_ saves: [(customer: String, state: [UInt8], expected: Int64)], owner: String, keepFor: TimeInterval) throws -> [Int64?] {
        let ttl = Int64((keepFor * 1000).rounded())
        let replies = try client.evalScripts(Self.endTurnScript, saves.map { save in
            (keys: [RedisArgument(key(save.customer)), RedisArgument(turnKey(save.customer))],
             args: [RedisArgument(save.expected), RedisArgument(bytes: save.state), RedisArgument(ttl), RedisArgument(owner)])
        })
        return try replies.map { reply in
            guard let items = try reply.checked().array, items.count == 2, let done = items[0].integer, let version = items[1].integer else {
                throw RedisStoreError.unreadable("the conversation script answered \(reply)")
            }
            return done == 1 ? version : nil
        }
    }

    public func releaseTurns(_ customers: [String], owner: String) throws {
        for reply in try client.evalScripts(Self.releaseTurnScript, customers.map { (keys: [RedisArgument(turnKey($0))], args: [RedisArgument(owner)]) }) {
            _ = try reply.checked()
        }
    }

    /// The stored state and its version (1 for the first save), or nil when none is stored.
    public func load(_ customer: String) throws -> (state: [UInt8], version: Int64)? {
        let reply = try client.command("HMGET", key(customer), "v", "state")
        guard let fields = reply.array, fields.count == 2, let version = fields[0].integer, let state = fields[1].bytes else { return nil }
        return (state, version)
    }

    /// KEYS: the record, its turn. ARGV: the version the caller holds, the instance, the
    /// lease in ms. Answers {-1} (another instance's turn), {0} (nothing stored), {1, v}
    /// (the caller's version is current) or {2, v, state}.
    static let beginTurnScript = RedisScript(#"""
    local holder = redis.call('GET', KEYS[2])
    if holder and holder ~= ARGV[2] then return {-1} end
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
    local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
    if v == 0 then return {0} end
    if v == tonumber(ARGV[1]) then return {1, v} end
    return {2, v, redis.call('HGET', KEYS[1], 'state')}
    """#)

    /// KEYS: the record, its turn. ARGV: the expected version, the state, the expiry in ms
    /// (0: none), the instance. Saves as `compareAndSet` does, then ends the instance's turn.
    static let endTurnScript = RedisScript(#"""
    if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
    local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
    if v ~= tonumber(ARGV[1]) then return {0, v} end
    v = v + 1
    redis.call('HSET', KEYS[1], 'v', v, 'state', ARGV[2])
    if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
    return {1, v}
    """#)

    public func finish(_ customer: String, expected: Int64, owner: String) throws -> Bool {
        try client.evalScript(Self.finishScript, keys: [RedisArgument(key(customer)), RedisArgument(turnKey(customer))],
                              args: [RedisArgument(expected), RedisArgument(owner)]).integer == 1
    }

    /// KEYS: a turn. ARGV: the instance. Ends the turn when it is still the instance's.
    static let releaseTurnScript = RedisScript(#"""
    if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
    return 1
    """#)

    /// KEYS: the record, its turn. ARGV: the expected version, the instance. Removes the record
    /// when its version is still the expected one (answers 1) and nobody else has the turn.
    static let finishScript = RedisScript(#"""
    local holder = redis.call('GET', KEYS[2])
    if holder and holder ~= ARGV[2] then return 0 end
    redis.call('DEL', KEYS[2])
    local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
    if v ~= 0 and v ~= tonumber(ARGV[1]) then return 0 end
    redis.call('DEL', KEYS[1])
    return 1
    """#)
}
