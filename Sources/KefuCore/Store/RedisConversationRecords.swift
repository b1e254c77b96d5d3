import Foundation

/// Per-customer conversation state on Redis, each with a version, changed only by
/// compare-and-set: conversations that follow a customer from one gateway instance to
/// another (`SharedConversations`, see `docs/SCALING.md`).
///
/// Per customer, under one hash tag (the SHA-256 of the customer key), so one Cluster slot:
/// - `kefu:conversation:{h}`, a hash: `v` (the version), `state` (the rest of the state);
/// - `…:lines` and `…:turns`, lists: the transcript's lines and what the bot understood of
///   each message, appended to at each save and trimmed to the last ones;
/// - `…:turn`: the instance whose turn it is, until it ends or its lease runs out.
/// All of them expire an idle horizon after the last save, as an idle conversation ends.
/// Every decision is one Lua script, so it is atomic whatever other instances do meanwhile.
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
    /// The record, its turn, its lines and its understood messages: the keys every script takes.
    private func keys(_ customer: String) -> [RedisArgument] {
        let record = key(customer)
        return [RedisArgument(record), RedisArgument(record + ":turn"), RedisArgument(record + ":lines"), RedisArgument(record + ":turns")]
    }

    /// One round trip for all: each turn taken and, when newer than `known`, the state.
    public func beginTurns(_ turns: [(customer: String, known: Int64)], owner: String) throws -> [SharedTurn] {
        let lease = Int64((SharedTurn.lease * 1000).rounded())
        let replies = try client.evalScripts(Self.beginTurnScript, turns.map { turn in
            (keys: keys(turn.customer), args: [RedisArgument(turn.known), RedisArgument(owner), RedisArgument(lease)])
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
                guard items.count == 5, let version = items[1].integer, let core = items[2].bytes else {
                    throw RedisStoreError.unreadable("the turn script answered \(reply)")
                }
                return .stored(SharedState(core: core, lines: (items[3].array ?? []).compactMap(\.bytes),
                                           turns: (items[4].array ?? []).compactMap(\.bytes)), version: version)
            }
        }
    }

    /// One round trip for all: each turn given back (when still `owner`'s), then
    /// compare-and-set of the rest, and the lists extended (or rewritten) and trimmed.
    public func endTurns(_ saves: [SharedSave], owner: String, keepFor: TimeInterval) throws -> [Int64?] {
        let ttl = Int64((keepFor * 1000).rounded())
        let replies = try client.evalScripts(Self.endTurnScript, saves.map { save in
            (keys: keys(save.customer),
             args: [RedisArgument(save.expected), RedisArgument(bytes: save.core), RedisArgument(ttl), RedisArgument(owner),
                    RedisArgument(save.keep), RedisArgument(save.rewrite ? 1 : 0), RedisArgument(save.newLines.count)]
                + save.newLines.map { RedisArgument(bytes: $0) } + save.newTurns.map { RedisArgument(bytes: $0) })
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
    public func load(_ customer: String) throws -> (state: SharedState, version: Int64)? {
        let record = key(customer)
        let replies = try client.pipeline([["HMGET", RedisArgument(record), "v", "state"],
                                           ["LRANGE", RedisArgument(record + ":lines"), "0", "-1"],
                                           ["LRANGE", RedisArgument(record + ":turns"), "0", "-1"]])
        guard let fields = try replies[0].checked().array, fields.count == 2, let version = fields[0].integer, let core = fields[1].bytes else { return nil }
        return (SharedState(core: core, lines: (try replies[1].checked().array ?? []).compactMap(\.bytes),
                            turns: (try replies[2].checked().array ?? []).compactMap(\.bytes)), version)
    }

    /// KEYS: the record, its turn, lines, turns. ARGV: the version the caller holds, the
    /// instance, the lease in ms. Answers {-1} (another instance's turn), {0} (nothing
    /// stored), {1, v} (the caller's version is current) or {2, v, state, lines, turns}.
    static let beginTurnScript = RedisScript(#"""
    local holder = redis.call('GET', KEYS[2])
    if holder and holder ~= ARGV[2] then return {-1} end
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
    local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
    if v == 0 then return {0} end
    if v == tonumber(ARGV[1]) then return {1, v} end
    return {2, v, redis.call('HGET', KEYS[1], 'state'), redis.call('LRANGE', KEYS[3], 0, -1), redis.call('LRANGE', KEYS[4], 0, -1)}
    """#)

    /// KEYS: the record, its turn, lines, turns. ARGV: the expected version, the rest of the
    /// state, the expiry in ms (0: none), the instance, how many of each list to keep, 1 to
    /// rewrite the lists, the number of new lines, then the new lines and the new turns.
    /// Ends the instance's turn, then saves by compare-and-set: answers {1, new version}, or
    /// {0, the version found} when it is not the expected one (nothing is written then).
    static let endTurnScript = RedisScript(#"""
    if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
    local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
    if v ~= tonumber(ARGV[1]) then return {0, v} end
    v = v + 1
    redis.call('HSET', KEYS[1], 'v', v, 'state', ARGV[2])
    if ARGV[6] == '1' then redis.call('DEL', KEYS[3], KEYS[4]) end
    local nlines = tonumber(ARGV[7])
    for i = 8, 7 + nlines do redis.call('RPUSH', KEYS[3], ARGV[i]) end
    for i = 8 + nlines, #ARGV do redis.call('RPUSH', KEYS[4], ARGV[i]) end
    local keep = tonumber(ARGV[5])
    redis.call('LTRIM', KEYS[3], -keep, -1)
    redis.call('LTRIM', KEYS[4], -keep, -1)
    if tonumber(ARGV[3]) > 0 then
      for i = 1, 4 do if i ~= 2 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end end
    end
    return {1, v}
    """#)

    public func finish(_ customer: String, expected: Int64, owner: String) throws -> Bool {
        try client.evalScript(Self.finishScript, keys: keys(customer), args: [RedisArgument(expected), RedisArgument(owner)]).integer == 1
    }

    /// KEYS: a turn. ARGV: the instance. Ends the turn when it is still the instance's.
    static let releaseTurnScript = RedisScript(#"""
    if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
    return 1
    """#)

    /// KEYS: the record, its turn, lines, turns. ARGV: the expected version, the instance.
    /// Removes the conversation when its version is still the expected one (answers 1) and
    /// nobody else has the turn.
    static let finishScript = RedisScript(#"""
    local holder = redis.call('GET', KEYS[2])
    if holder and holder ~= ARGV[2] then return 0 end
    redis.call('DEL', KEYS[2])
    local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
    if v ~= 0 and v ~= tonumber(ARGV[1]) then return 0 end
    redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
    return 1
    """#)
}
