import Foundation
import Synchronization

/// The handoff queue on Redis, shared by every gateway instance (and `kefu agent`) that uses
/// the same server: `kefu serve --store redis://…`.
///
/// Keys (prefix `kefu:` by default; `docs/SCALING.md` has the whole layout):
/// - `kefu:{T000042}:ticket` — a hash per ticket: `ticket` (the ticket as opened, JSON), and
///   the fields the scripts decide on: `state`, `assignee`, `priority`, `severity`, `number`,
///   `created` and `claimed` (ms), `delivered`;
/// - `kefu:{T000042}:log` — every change since, one JSON record each (the journal's records,
///   applied by the same code), so no script has to rewrite JSON;
/// - `kefu:tickets:seq` (`INCR`: ids), `kefu:tickets:waiting` and `kefu:tickets:open` (sorted
///   sets scored by priority, then number), `kefu:tickets:all`, `kefu:tickets:waits` (the last
///   20 waits until a first claim), `kefu:customer:<key>` (a customer's tickets),
///   `kefu:resume:<hash>` (resume codes).
///
/// Every change that decides on state (claim, next, release, transfer, reply, resolve,
/// withdraw, escalate, delivered) is one Lua script: Redis runs it alone, so exactly one agent
/// wins a claim whichever instance each is connected to. A change returns once Redis
/// acknowledged it; with `appendfsync always` that is once it is on Redis's disk. A Redis
/// error is thrown as it is (`RedisError`), so nobody is told a number Redis did not take.
///
/// The ticket's own keys share a hash tag (`{T000042}`), so they stay in one Redis Cluster
/// slot; the queue's sorted sets do not, and the scripts touch both: on a Cluster the whole
/// prefix must share one tag (`prefix: "kefu:{q}:"`), see `docs/SCALING.md`.
public final class RedisTicketQueue: TicketQueue, @unchecked Sendable {
    public let client: RedisClient
    public let prefix: String

    public var notices: [Journal.Notice] { [] }

    public init(client: RedisClient, prefix: String = "kefu:") {
        self.client = client
        self.prefix = prefix
    }

    // MARK: Keys

    func ticketKey(_ id: String) -> String { "\(prefix){\(id)}:ticket" }
    func logKey(_ id: String) -> String { "\(prefix){\(id)}:log" }
    var sequenceKey: String { prefix + "tickets:seq" }
    var waitingKey: String { prefix + "tickets:waiting" }
    var openKey: String { prefix + "tickets:open" }
    var allKey: String { prefix + "tickets:all" }
    var waitsKey: String { prefix + "tickets:waits" }
    func customerKey(_ customer: String) -> String { prefix + "customer:" + customer }
    func resumeKey(_ hash: String) -> String { prefix + "resume:" + hash }

    /// Most urgent first in a sorted set: lower priority scores higher, then the number.
    static func score(priority: Int, number: Int) -> Int64 { Int64(1000 - priority) * 10_000_000_000 + Int64(number) }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    // MARK: Reading

    public func refresh() throws {}

    public func ticket(_ id: String) throws -> Ticket? {
        try tickets([id]).first
    }

    /// The tickets by id, in one round trip; ids without a ticket are left out.
    ///
    /// A ticket is its opening (never changed) and an append-only log of changes, so a
    /// ticket read before is kept decoded with the number of changes applied, and only the
    /// changes since are fetched and applied: decoding a long case's whole log on every read
    /// (each agent reply reads the ticket) cost milliseconds per reply.
    func tickets(_ ids: [String]) throws -> [Ticket] {
        guard !ids.isEmpty else { return [] }
        let known = decoded.withLock { cache in ids.map { cache[$0] } }
        var commands: [[RedisArgument]] = []
        for (id, cached) in zip(ids, known) {
            if let cached {
                commands.append(["LRANGE", RedisArgument(logKey(id)), RedisArgument(cached.applied), "-1"])
                commands.append(["LLEN", RedisArgument(logKey(id))])
            } else {
                commands.append(["HGET", RedisArgument(ticketKey(id)), "ticket"])
                commands.append(["LRANGE", RedisArgument(logKey(id)), "0", "-1"])
            }
        }
        let replies = try client.pipeline(commands)
        var found: [Ticket] = []
        var fresh: [(String, DecodedTicket)] = []
        for (n, (id, cached)) in zip(ids, known).enumerated() {
            let first = try replies[2 * n].checked(), second = try replies[2 * n + 1].checked()
            if var cached, let length = second.integer, length >= Int64(cached.applied) {
                let entries = (first.array ?? []).compactMap(\.bytes)
                try Self.apply(entries, to: &cached.ticket, id: id)
                cached.applied += entries.count
                found.append(cached.ticket)
                fresh.append((id, cached))
            } else if cached != nil {
                // The log is shorter than what was applied (Redis lost data): read it whole.
                decoded.withLock { $0[id] = nil }
                found.append(contentsOf: try tickets([id]))
            } else {
                guard let json = first.bytes else { continue }
                let entries = (second.array ?? []).compactMap(\.bytes)
                let ticket = try Self.ticket(id: id, json: json, log: entries)
                found.append(ticket)
                fresh.append((id, DecodedTicket(ticket: ticket, applied: entries.count)))
            }
        }
        decoded.withLock { cache in
            if cache.count + fresh.count > Self.decodedLimit { cache.removeAll(keepingCapacity: true) }
            for (id, entry) in fresh { cache[id] = entry }
        }
        return found
    }

    /// A ticket as last read, and how many log entries it has applied.
    struct DecodedTicket {
        var ticket: Ticket
        var applied: Int
    }
    private let decoded = Mutex<[String: DecodedTicket]>([:])
    /// Tickets kept decoded; past it the cache starts again (reads stay right, only slower).
    static let decodedLimit = 2048

    /// A ticket from its opening and its changes, applied as the journal applies them.
    static func ticket(id: String, json: [UInt8], log: [[UInt8]]) throws -> Ticket {
        var t: Ticket
        do { t = try TicketStore.decoder.decode(Ticket.self, from: Data(json)) } catch {
            throw RedisStoreError.unreadable("ticket \(id) in Redis cannot be read: \(error)")
        }
        try apply(log, to: &t, id: id)
        return t
    }

    /// Applies log entries to a ticket, as the journal applies its records.
    static func apply(_ log: [[UInt8]], to t: inout Ticket, id: String) throws {
        for entry in log {
            guard let record = try? TicketStore.decoder.decode(TicketStore.Record.self, from: Data(entry)) else {
                throw RedisStoreError.unreadable("a change of ticket \(id) in Redis cannot be read")
            }
            if let problem = TicketStore.change(&t, by: record) {
                throw RedisStoreError.unreadable("\(problem) for ticket \(id) in Redis (written by a newer kefu?)")
            }
        }
    }

    private func ids(_ reply: RESPValue) -> [String] { (reply.array ?? []).compactMap(\.string) }

    public func all() throws -> [Ticket] {
        try tickets(ids(client.command("ZRANGE", allKey, "0", "-1")))
    }

    public func openTicket(customer: String) throws -> Ticket? {
        try tickets(ids(client.command("ZREVRANGE", customerKey(customer), "0", "-1"))).first(where: \.isOpen)
    }

    public func latestTicket(customer: String) throws -> Ticket? {
        try tickets(ids(client.command("ZREVRANGE", customerKey(customer), "0", "0"))).first
    }

    public func resumable(codeHash: String, now: Date) throws -> Ticket? {
        guard let id = try client.command("GET", resumeKey(codeHash)).string, let t = try ticket(id) else { return nil }
        if t.isOpen { return t }
        guard let resolved = t.resolvedAt, now.timeIntervalSince(resolved) < Ticket.followUpWindow else { return nil }
        return t
    }

    public func queue() throws -> [Ticket] {
        try tickets(ids(client.command("ZRANGE", openKey, "0", "-1")))
    }

    public func position(of id: String) throws -> Int {
        let rank = try client.command("ZRANK", waitingKey, id)
        return rank.integer.map { Int($0) + 1 } ?? 0
    }

    public func typicalWait() throws -> TimeInterval {
        let waits = (try client.command("LRANGE", waitsKey, "0", "19").array ?? []).compactMap { $0.string.flatMap(Double.init) }.sorted()
        guard !waits.isEmpty else { return TicketStore.defaultWait }
        return max(30, waits[waits.count / 2])
    }

    // MARK: Changing

    /// Two round trips: `INCR` for the number, then the ticket and its index entries in one
    /// `MULTI`/`EXEC`. A number taken by an open that then failed is never used again.
    public func open(_ draft: TicketDraft, now: Date) throws -> Ticket {
        guard let number = try client.command("INCR", sequenceKey).integer else {
            throw RedisStoreError.unreadable("INCR \(sequenceKey) did not answer a number")
        }
        let id = TicketStore.ticketID(Int(number))
        let ticket = Ticket(opening: draft, id: id, at: now)
        let json = try TicketStore.encoder.encode(ticket)
        let score = RedisArgument(Self.score(priority: ticket.priority, number: Int(number)))
        var commands: [[RedisArgument]] = [
            ["MULTI"],
            ["HSET", RedisArgument(ticketKey(id)), "ticket", RedisArgument(bytes: Array(json)), "state", "waiting",
             "priority", RedisArgument(ticket.priority), "severity", RedisArgument(ticket.reason.severity),
             "number", RedisArgument(Int(number)), "created", RedisArgument(Self.millis(now)), "delivered", "0"],
            ["ZADD", RedisArgument(waitingKey), score, RedisArgument(id)],
            ["ZADD", RedisArgument(openKey), score, RedisArgument(id)],
            ["ZADD", RedisArgument(allKey), RedisArgument(Int(number)), RedisArgument(id)],
            ["ZADD", RedisArgument(customerKey(draft.customer)), RedisArgument(Int(number)), RedisArgument(id)],
        ]
        if let hash = draft.resumeHash { commands.append(["SET", RedisArgument(resumeKey(hash)), RedisArgument(id)]) }
        commands.append(["EXEC"])
        let replies = try client.pipeline(commands)
        for reply in replies { _ = try reply.checked() }
        guard let results = replies.last?.array, results.count == commands.count - 2 else {
            throw RedisStoreError.unreadable("the transaction opening \(id) was not executed")
        }
        for result in results { _ = try result.checked() }
        return ticket
    }

    public func addCustomerMessage(_ id: String, line: TranscriptLine, turn: TurnRecord?, now: Date) throws {
        try change("message", id, TicketStore.Record(op: "message", at: now, line: line, turn: turn))
    }

    public func addBotLine(_ id: String, text: String, now: Date) throws {
        try change("message", id, TicketStore.Record(op: "message", at: now, line: TranscriptLine(time: now, from: "bot", text: text)))
    }

    /// One round trip: the script claims and answers with the ticket.
    @discardableResult
    public func claim(_ id: String, agent: String, now: Date) throws -> Ticket {
        let reply = try change("claim", id, TicketStore.Record(op: "claim", at: now, agent: agent), agent: agent, now: now)
        return try Self.ticket(id: id, fromScriptReply: reply, at: 2)
    }

    /// One round trip: the script takes the most urgent waiting ticket and answers with it.
    public func claimNext(agent: String, now: Date) throws -> Ticket? {
        let record = try TicketStore.encoder.encode(TicketStore.Record(op: "claim", at: now, agent: agent))
        let reply = try client.evalScript(Self.claimNextScript, keys: [RedisArgument(waitingKey), RedisArgument(waitsKey)],
                                          args: [RedisArgument(prefix), RedisArgument(agent), RedisArgument(bytes: Array(record)),
                                                 RedisArgument(Self.millis(now))])
        let items = reply.array ?? []
        guard items.first?.string == "ok", let id = items.count > 1 ? items[1].string : nil else { return nil }
        return try Self.ticket(id: id, fromScriptReply: items, at: 2)
    }

    @discardableResult
    public func release(_ id: String, agent: String, supervisor: Bool, now: Date) throws -> String {
        let reply = try change("release", id, TicketStore.Record(op: "release", at: now, agent: agent), agent: agent, extra: supervisor ? "1" : "0")
        return reply.count > 1 ? reply[1].string ?? "" : ""
    }

    @discardableResult
    public func transfer(_ id: String, from agent: String, to other: String, supervisor: Bool, now: Date) throws -> String? {
        let reply = try change("transfer", id, TicketStore.Record(op: "transfer", at: now, agent: agent, to: other), agent: agent, now: now,
                               extra: other, extra2: supervisor ? "1" : "0")
        let holder = reply.count > 1 ? reply[1].string ?? "" : ""
        return holder.isEmpty ? nil : holder
    }

    public func note(_ id: String, agent: String, text: String, now: Date) throws {
        try change("note", id, TicketStore.Record(op: "note", at: now, agent: agent, text: text), agent: agent)
    }

    public func reply(_ id: String, agent: String, text: String, now: Date) throws {
        try change("reply", id, TicketStore.Record(op: "reply", at: now, agent: agent, text: text), agent: agent)
    }

    public func resolve(_ id: String, agent: String, note: String?, now: Date) throws {
        try change("resolve", id, TicketStore.Record(op: "resolve", at: now, agent: agent, text: note), agent: agent)
    }

    public func withdraw(_ id: String, now: Date) throws {
        try change("withdraw", id, TicketStore.Record(op: "withdraw", at: now))
    }

    public func escalate(_ id: String, reason: HandoffReason, now: Date) throws {
        try change("escalate", id, TicketStore.Record(op: "escalate", at: now, text: reason.rawValue, score: reason.priority),
                   extra: String(reason.priority), extra2: String(reason.severity))
    }

    public func markDelivered(_ id: String, count: Int, now: Date) throws {
        try change("delivered", id, TicketStore.Record(op: "delivered", at: now, count: count), extra: String(count))
    }

    public func rate(_ id: String, score: Int, now: Date) throws {
        guard (1...5).contains(score) else { throw TicketError.invalidRating(score) }
        try change("rating", id, TicketStore.Record(op: "rating", at: now, score: score))
    }

    /// Every change is acknowledged by Redis before it returns: there is nothing to defer.
    public func groupCommitted() -> any TicketQueue { self }
    public func syncPending() throws {}

    // MARK: Scripts

    /// Runs the change script for one ticket; throws the `TicketError` it answers with.
    @discardableResult
    private func change(_ op: String, _ id: String, _ record: TicketStore.Record, agent: String = "", now: Date? = nil,
                        extra: String = "", extra2: String = "") throws -> [RESPValue] {
        let json = try TicketStore.encoder.encode(record)
        let reply = try client.evalScript(Self.changeScript,
                                          keys: [RedisArgument(ticketKey(id)), RedisArgument(logKey(id)), RedisArgument(waitingKey),
                                                 RedisArgument(openKey), RedisArgument(waitsKey)],
                                          args: [RedisArgument(op), RedisArgument(id), RedisArgument(agent), RedisArgument(bytes: Array(json)),
                                                 RedisArgument(Self.millis(now ?? record.at)), RedisArgument(extra), RedisArgument(extra2)])
        let items = reply.array ?? []
        let status = items.first?.string ?? ""
        let who = items.count > 1 ? items[1].string ?? "?" : "?"
        switch status {
        case "ok": return items
        case "unknown": throw TicketError.unknown(id)
        case "resolved": throw TicketError.alreadyResolved(id)
        case "claimed": throw TicketError.claimedByOther(id, agent: who)
        case "notclaimed": throw TicketError.notClaimed(id)
        case "held": throw TicketError.heldByOther(id, agent: who)
        default: throw RedisStoreError.unreadable("the ticket script answered \(reply) for \(op) on \(id)")
        }
    }

    /// A ticket sent back by a script: its JSON at `index`, its changes after it.
    private static func ticket(id: String, fromScriptReply items: [RESPValue], at index: Int) throws -> Ticket {
        guard items.count > index, let json = items[index].bytes else {
            throw RedisStoreError.unreadable("the claim script did not answer with ticket \(id)")
        }
        return try ticket(id: id, json: json, log: items[(index + 1)...].compactMap(\.bytes))
    }

    /// Shared by every change to one ticket. KEYS: the ticket's hash, its log, the waiting
    /// set, the open set, the recent waits. ARGV: op, id, agent, the change record (JSON),
    /// now (ms), and two op-specific values. Answers {status, holder, [ticket, changes…]}.
    /// Every check is the journal's (`TicketStore`), made here where no one else can write.
    static let changeScript = RedisScript(#"""
    local t, log, waiting, open, waits = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
    local op, id, agent, record, now, extra, extra2 = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
    local state = redis.call('HGET', t, 'state')
    if not state then return {'unknown'} end
    local holder = redis.call('HGET', t, 'assignee')
    local function score()
      return (1000 - tonumber(redis.call('HGET', t, 'priority'))) * 10000000000 + tonumber(redis.call('HGET', t, 'number'))
    end
    local function firstClaim()
      if redis.call('HSETNX', t, 'claimed', now) == 1 then
        local wait = (tonumber(now) - tonumber(redis.call('HGET', t, 'created'))) / 1000
        redis.call('LPUSH', waits, tostring(wait))
        redis.call('LTRIM', waits, 0, 19)
      end
    end
    local function withTicket(status, who)
      local r = {status, who, redis.call('HGET', t, 'ticket')}
      for _, change in ipairs(redis.call('LRANGE', log, 0, -1)) do r[#r + 1] = change end
      return r
    end
    if op == 'message' or op == 'note' or op == 'rating' then
      redis.call('RPUSH', log, record)
      return {'ok'}
    end
    if op == 'delivered' then
      if tonumber(extra) > tonumber(redis.call('HGET', t, 'delivered') or '0') then
        redis.call('HSET', t, 'delivered', extra)
        redis.call('RPUSH', log, record)
      end
      return {'ok'}
    end
    if state == 'resolved' then return {'resolved'} end
    if op == 'claim' then
      if state == 'claimed' and holder ~= agent then return {'claimed', holder} end
      redis.call('HSET', t, 'state', 'claimed', 'assignee', agent)
      redis.call('ZREM', waiting, id)
      firstClaim()
      redis.call('RPUSH', log, record)
      return withTicket('ok', agent)
    elseif op == 'release' then
      if state ~= 'claimed' or not holder then return {'notclaimed'} end
      if holder ~= agent and extra ~= '1' then return {'held', holder} end
      redis.call('HSET', t, 'state', 'waiting')
      redis.call('HDEL', t, 'assignee')
      redis.call('ZADD', waiting, score(), id)
      redis.call('RPUSH', log, record)
      return {'ok', holder}
    elseif op == 'transfer' then
      if holder and holder ~= agent and extra2 ~= '1' then return {'held', holder} end
      redis.call('HSET', t, 'state', 'claimed', 'assignee', extra)
      redis.call('ZREM', waiting, id)
      firstClaim()
      redis.call('RPUSH', log, record)
      return {'ok', holder or ''}
    elseif op == 'reply' then
      if state ~= 'claimed' or not holder then return {'notclaimed'} end
      if holder ~= agent then return {'claimed', holder} end
      redis.call('RPUSH', log, record)
      return {'ok'}
    elseif op == 'resolve' or op == 'withdraw' then
      if op == 'resolve' and holder and holder ~= agent then return {'claimed', holder} end
      if op == 'withdraw' and state ~= 'waiting' then return {'claimed', holder or '?'} end
      redis.call('HSET', t, 'state', 'resolved', 'resolved', now)
      redis.call('HDEL', t, 'assignee')
      redis.call('ZREM', waiting, id)
      redis.call('ZREM', open, id)
      redis.call('RPUSH', log, record)
      return {'ok'}
    elseif op == 'escalate' then
      local p, s = tonumber(redis.call('HGET', t, 'priority')), tonumber(redis.call('HGET', t, 'severity'))
      local np, ns = tonumber(extra), tonumber(extra2)
      if np <= p and ns <= s then return {'ok'} end
      redis.call('HSET', t, 'priority', math.max(p, np), 'severity', math.max(s, ns))
      if state == 'waiting' then redis.call('ZADD', waiting, score(), id) end
      redis.call('ZADD', open, score(), id)
      redis.call('RPUSH', log, record)
      return {'ok'}
    end
    return {'unknown-op'}
    """#)

    /// Claims the most urgent waiting ticket. KEYS: the waiting set, the recent waits. ARGV:
    /// the key prefix, agent, the claim record (JSON), now (ms). Answers {'ok', id, ticket,
    /// changes…} or {'none'}. It reaches the ticket's keys by name (the id is only known
    /// here): fine on one Redis; on a Cluster all keys must share one hash tag.
    static let claimNextScript = RedisScript(#"""
    local waiting, waits = KEYS[1], KEYS[2]
    local prefix, agent, record, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
    while true do
      local first = redis.call('ZRANGE', waiting, 0, 0)
      if #first == 0 then return {'none'} end
      local id = first[1]
      local t, log = prefix .. '{' .. id .. '}:ticket', prefix .. '{' .. id .. '}:log'
      redis.call('ZREM', waiting, id)
      if redis.call('HGET', t, 'state') == 'waiting' then
        redis.call('HSET', t, 'state', 'claimed', 'assignee', agent)
        if redis.call('HSETNX', t, 'claimed', now) == 1 then
          local wait = (tonumber(now) - tonumber(redis.call('HGET', t, 'created'))) / 1000
          redis.call('LPUSH', waits, tostring(wait))
          redis.call('LTRIM', waits, 0, 19)
        end
        redis.call('RPUSH', log, record)
        local r = {'ok', id, redis.call('HGET', t, 'ticket')}
        for _, change in ipairs(redis.call('LRANGE', log, 0, -1)) do r[#r + 1] = change end
        return r
      end
    end
    """#)
}

/// What Redis holds that kefu cannot read, or an answer it did not expect.
public enum RedisStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String)

    public var description: String {
        switch self {
        case .unreadable(let reason): "the store on Redis: \(reason)"
        }
    }
}
