import Foundation
import Synchronization
import Testing
@testable import KefuCore

/// What only the Redis stores have to show: surviving a killed server, failing loudly when it
/// is gone, the event stream. The queue's behaviour itself is `TicketQueueContractTests`.
@Suite("Tickets and events on Redis", .serialized)
struct RedisStoreTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func draft(_ customer: String) -> TicketDraft {
        TicketDraft(conversation: "conv-\(customer)", customer: customer, channel: "test", reason: .requested, topic: "card_service",
                    summary: "客户 \(customer)", facts: [], transcript: [], turns: [])
    }

    @Test("redis-server killed with SIGKILL mid-run and started again on its files: nothing acknowledged is lost, no id is given twice")
    func killedMidRun() throws {
        let server = try RedisServerProcess(appendOnly: true)
        defer { server.remove() }
        let configuration = try server.configuration(commandTimeout: .seconds(2))
        let writer = RedisTicketQueue(client: RedisClient(configuration: configuration))
        let acknowledged = Mutex<[String: String?]>([:])  // id → the agent whose claim was acknowledged
        let failures = Mutex(0)
        let stop = Atomic(false)
        let done = DispatchSemaphore(value: 0)
        Thread {
            var n = 0
            while !stop.load(ordering: .relaxed) {
                n += 1
                do {
                    let t = try writer.open(Self.draft("c\(n)"), now: Self.t0)
                    acknowledged.withLock { $0[t.id] = .some(nil) }
                    if n % 2 == 0 {
                        try writer.claim(t.id, agent: "agent-\(n)", now: Self.t0)
                        acknowledged.withLock { $0[t.id] = "agent-\(n)" }
                    }
                } catch {
                    failures.withLock { $0 += 1 }
                    usleep(5_000)
                }
            }
            done.signal()
        }.start()
        usleep(400_000)
        let before = acknowledged.withLock { $0.count }
        server.kill9()
        usleep(200_000)
        try server.start()
        usleep(400_000)
        stop.store(true, ordering: .relaxed)
        done.wait()
        let seen = acknowledged.withLock { $0 }
        #expect(before > 10, "tickets were written before the kill")
        #expect(seen.count > before, "and after the restart")
        #expect(failures.withLock { $0 } > 0, "the kill was noticed")
        let reader = RedisTicketQueue(client: RedisClient(configuration: configuration))
        let stored = Dictionary(uniqueKeysWithValues: try reader.all().map { ($0.id, $0) })
        for (id, claimedBy) in seen {
            let t = stored[id]
            #expect(t != nil, "acknowledged ticket \(id) is there")
            if let agent = claimedBy { #expect(t?.assignee == agent && t?.state == .claimed, "acknowledged claim of \(id)") }
        }
        #expect(Set(stored.values.map(\.customer)).count == stored.count, "no id was given to two tickets")
        print("Redis killed mid-run: \(seen.count) tickets acknowledged (\(before) before the kill), \(failures.withLock { $0 }) operations failed while it was down, none lost")
    }

    @Test("with Redis down, opening a ticket throws a RedisError and returns no number; reads throw too")
    func redisDown() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let queue = RedisTicketQueue(client: RedisClient(configuration: try server.configuration()))
        _ = try queue.open(Self.draft("a"), now: Self.t0)
        server.stop()
        #expect(throws: RedisError.self) { _ = try queue.open(Self.draft("b"), now: Self.t0) }
        #expect(throws: RedisError.self) { _ = try queue.claimNext(agent: "x", now: Self.t0) }
        #expect(throws: RedisError.self) { _ = try queue.ticket("T000001") }
        let events = RedisEventSink(client: RedisClient(configuration: try server.configuration()))
        #expect(throws: RedisError.self) { try events.record(ServiceEvent(kind: .message, time: Self.t0)) }
    }

    @Test("events: recorded masked, batches in one round trip, read back in order across pages, the stream capped")
    func eventStream() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let client = RedisClient(configuration: try server.configuration())
        let sink = RedisEventSink(client: client)
        var first = ServiceEvent(kind: .message, time: Self.t0)
        first.text = "我的手机号是13812345678"
        first.customer = "13812345678"
        try sink.record(first)
        let batch = (1...2500).map { i -> Data in
            var e = ServiceEvent(kind: .agentAction, time: Self.t0.addingTimeInterval(Double(i)))
            e.ticket = String(format: "T%06d", i)
            return e.maskedPayload()
        }
        try sink.write(batch)
        #expect(sink.takePending().isEmpty)
        let (events, notices) = try sink.readAll()
        #expect(notices.isEmpty)
        #expect(events.count == 2501)
        #expect(events.first?.text?.contains("13812345678") == false, "masked")
        #expect(events.first?.customer?.contains("13812345678") == false, "masked")
        #expect(events.dropFirst().map(\.ticket) == (1...2500).map { String(format: "T%06d", $0) })
        // The group commit in front of it, as the gateway uses it.
        let committed = GroupCommitSink(sink)
        try committed.record(ServiceEvent(kind: .conversationStart, time: Self.t0))
        #expect(try sink.readAll().events.count == 2501, "queued, not written")
        try committed.write(committed.takePending())
        #expect(try committed.readAll().events.last?.kind == .conversationStart)
        // Capped: MAXLEN ~ keeps about the last `maxLength` entries.
        let capped = RedisEventSink(client: client, prefix: "capped:", maxLength: 1000)
        try capped.write(batch)
        let length = try client.command("XLEN", "capped:events").integer ?? 0
        #expect(length >= 1000 && length < 2500)
    }

    @Test("round trips: a claim and a next are one script call each, an open two, a ticket read one")
    func roundTrips() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let queue = RedisTicketQueue(client: RedisClient(configuration: try server.configuration()))
        /// Round trips `body` made.
        func commands(_ body: () throws -> Void) throws -> Int {
            let before = queue.client.exchanges
            try body()
            return queue.client.exchanges - before
        }
        // Load both scripts first (SCRIPT LOAD happens once per server).
        _ = try queue.claimNext(agent: "x", now: Self.t0)
        _ = try queue.claim(try queue.open(Self.draft("warm"), now: Self.t0).id, agent: "x", now: Self.t0)
        var id = ""
        let open = try commands { id = try queue.open(Self.draft("a"), now: Self.t0).id }
        let claim = try commands { try queue.claim(id, agent: "x", now: Self.t0) }
        _ = try queue.open(Self.draft("b"), now: Self.t0)
        let next = try commands { _ = try queue.claimNext(agent: "y", now: Self.t0) }
        let read = try commands { _ = try queue.ticket(id) }
        #expect(claim == 1 && next == 1)
        #expect(open == 2, "INCR, then MULTI, HSET, 4 × ZADD, EXEC in one pipeline")
        #expect(read == 1, "HGET and LRANGE in one pipeline")
        print("Redis round trips: claim \(claim), next \(next), open \(open), ticket read \(read)")
    }
}
