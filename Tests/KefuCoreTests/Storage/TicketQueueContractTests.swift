import Foundation
import Synchronization
import Testing
@testable import KefuCore

/// Where a contract test's tickets live. Each `make()` opens a new instance on the same
/// backing store: a second process on the same data folder, or a second gateway on the same
/// Redis.
struct QueueBacking: Sendable {
    let make: @Sendable () throws -> any TicketQueue
}

/// The implementations every contract test runs against.
enum QueueBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case journal
    /// The journal as the gateway's engine uses it: syncs left to `syncPending()`.
    case groupCommittedJournal
    case redis

    var testDescription: String { rawValue }

    /// A fresh, empty backing store.
    func backing() throws -> QueueBacking {
        switch self {
        case .journal:
            let folder = Scratch.folder("contract")
            return QueueBacking { try TicketStore(folder: folder) }
        case .groupCommittedJournal:
            let folder = Scratch.folder("contract")
            return QueueBacking { try TicketStore(folder: folder).groupCommitted() }
        case .redis:
            // The suite's server (`.redisServer`), a key prefix of this test's own.
            guard let server = SuiteRedis.server else { throw SuiteRedis.NoServer() }
            let configuration = try server.configuration()
            let prefix = "kefu-\(UUID().uuidString.prefix(8)):"
            return QueueBacking { RedisTicketQueue(client: RedisClient(configuration: configuration), prefix: prefix) }
        }
    }
}

/// One set of promises for every `TicketQueue` (see its documentation), checked against each
/// implementation: the dialogue, the engine and the agent desk rely on these and nothing else.
@Suite("TicketQueue contract", .redisServer)
struct TicketQueueContractTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func draft(_ customer: String, _ reason: HandoffReason = .requested, resumeHash: String? = nil) -> TicketDraft {
        var d = TicketDraft(conversation: "conv-\(customer)", customer: customer, channel: "test", reason: reason, topic: "card_service",
                            summary: "客户 \(customer) 的卡", facts: ["卡号 ****1234"],
                            transcript: [TranscriptLine(time: t0, from: "customer", text: "我要找人工")], turns: [])
        d.resumeHash = resumeHash
        return d
    }

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    @Test("ids are T + six digits, unique and in the order tickets were opened, across instances", arguments: QueueBackend.allCases)
    func idsUniqueAndOrdered(_ backend: QueueBackend) throws {
        let backing = try backend.backing()
        let a = try backing.make(), b = try backing.make()
        var ids: [String] = []
        for i in 0..<6 {
            let queue = i % 2 == 0 ? a : b
            try queue.refresh()
            ids.append(try queue.open(Self.draft("c\(i)"), now: Self.at(Double(i))).id)
        }
        #expect(ids == (1...6).map { String(format: "T%06d", $0) })
        try a.refresh()
        #expect(try a.all().map(\.id) == ids)
        #expect(try a.ticket("T000004")?.customer == "c3")
        #expect(try a.ticket("T000099") == nil)
        let t = try #require(try a.ticket("T000001"))
        #expect(t.state == .waiting && t.assignee == nil && t.history.map(\.action) == ["opened"])
        #expect(t.summary == "客户 c0 的卡" && t.facts == ["卡号 ****1234"] && t.transcript.count == 1)
    }

    @Test("a ticket is claimed by one agent; another's claim is refused, the holder's again is harmless", arguments: QueueBackend.allCases)
    func claimExactlyOnce(_ backend: QueueBackend) throws {
        let backing = try backend.backing()
        let q = try backing.make(), other = try backing.make()
        let t = try q.open(Self.draft("a"), now: Self.t0)
        let claimed = try q.claim(t.id, agent: "张三", now: Self.at(60))
        #expect(claimed.state == .claimed && claimed.assignee == "张三" && claimed.claimedAt == Self.at(60))
        try other.refresh()
        #expect(throws: TicketError.claimedByOther(t.id, agent: "张三")) { try other.claim(t.id, agent: "李四", now: Self.at(61)) }
        #expect(try q.claim(t.id, agent: "张三", now: Self.at(62)).claimedAt == Self.at(60), "the first claim's time stays")
        #expect(throws: TicketError.unknown("T000042")) { try q.claim("T000042", agent: "张三", now: Self.at(63)) }
        #expect(try q.position(of: t.id) == 0, "a claimed ticket is not waiting")
        #expect(try q.claimNext(agent: "李四", now: Self.at(64)) == nil)
    }

    @Test("claimNext takes the most urgent, then the oldest; queue and position agree", arguments: QueueBackend.allCases)
    func claimNextOrder(_ backend: QueueBackend) throws {
        let q = try backend.backing().make()
        let arrivals: [(String, HandoffReason)] = [("a", .requested), ("b", .complaint), ("c", .threat), ("d", .money),
                                                    ("e", .requested), ("f", .safety), ("g", .emotion)]
        for (i, (customer, reason)) in arrivals.enumerated() { _ = try q.open(Self.draft(customer, reason), now: Self.at(Double(i))) }
        #expect(try q.queue().map(\.customer) == ["d", "f", "c", "g", "b", "a", "e"])
        #expect(try q.position(of: try #require(try q.openTicket(customer: "d")).id) == 1)
        #expect(try q.position(of: try #require(try q.openTicket(customer: "e")).id) == 7)
        var order: [String] = []
        while let t = try q.claimNext(agent: "x", now: Self.at(100)) {
            #expect(t.state == .claimed && t.assignee == "x")
            order.append(t.customer)
        }
        #expect(order == ["d", "f", "c", "g", "b", "a", "e"])
        #expect(try q.queue().count == 7, "claimed tickets stay in the queue")
        #expect(try q.position(of: "T000001") == 0)
    }

    @Test("release and transfer: the holder or a supervisor; a waiting ticket may be handed by anyone", arguments: QueueBackend.allCases)
    func transferAndRelease(_ backend: QueueBackend) throws {
        let q = try backend.backing().make()
        let t = try q.open(Self.draft("a"), now: Self.t0)
        #expect(throws: TicketError.notClaimed(t.id)) { try q.release(t.id, agent: "张三", now: Self.at(1)) }
        #expect(try q.transfer(t.id, from: "王五", to: "张三", now: Self.at(2)) == nil, "nobody held it")
        #expect(try q.ticket(t.id)?.assignee == "张三")
        #expect(try q.ticket(t.id)?.state == .claimed)
        #expect(throws: TicketError.heldByOther(t.id, agent: "张三")) { try q.release(t.id, agent: "李四", now: Self.at(3)) }
        #expect(throws: TicketError.heldByOther(t.id, agent: "张三")) { try q.transfer(t.id, from: "李四", to: "李四", now: Self.at(3)) }
        #expect(try q.transfer(t.id, from: "组长", to: "李四", supervisor: true, now: Self.at(4)) == "张三")
        #expect(try q.release(t.id, agent: "组长", supervisor: true, now: Self.at(5)) == "李四")
        let released = try #require(try q.ticket(t.id))
        #expect(released.state == .waiting && released.assignee == nil && released.claimedAt == Self.at(2))
        #expect(try q.position(of: t.id) == 1, "back in the queue")
        try q.claim(t.id, agent: "李四", now: Self.at(6))
        #expect(try q.release(t.id, agent: "李四", now: Self.at(7)) == "李四")
        #expect(try q.ticket(t.id)?.history.map(\.action) == ["opened", "transferred", "transferred", "released", "claimed", "released"])
    }

    @Test("replies only by the holder, delivery counted upwards, notes and messages by anyone", arguments: QueueBackend.allCases)
    func replyAndDelivery(_ backend: QueueBackend) throws {
        let q = try backend.backing().make()
        let t = try q.open(Self.draft("a"), now: Self.t0)
        #expect(throws: TicketError.notClaimed(t.id)) { try q.reply(t.id, agent: "张三", text: "您好", now: Self.at(1)) }
        try q.claim(t.id, agent: "张三", now: Self.at(2))
        #expect(throws: TicketError.claimedByOther(t.id, agent: "张三")) { try q.reply(t.id, agent: "李四", text: "x", now: Self.at(3)) }
        try q.reply(t.id, agent: "张三", text: "您好", now: Self.at(4))
        try q.reply(t.id, agent: "张三", text: "已为您处理", now: Self.at(5))
        try q.note(t.id, agent: "李四", text: "注意", now: Self.at(6))
        let turn = TurnRecord(time: Self.at(7), topic: "card_service", confidence: 0.5,
                              candidates: [.init(entry: "card_loss", topic: "card_service", confidence: 0.5)],
                              emotionScore: 0.25, emotionLevel: "calm", route: "handoff")
        try q.addCustomerMessage(t.id, line: TranscriptLine(time: Self.at(7), from: "customer", text: "谢谢"), turn: turn, now: Self.at(7))
        try q.addBotLine(t.id, text: "请稍候", now: Self.at(8))
        #expect(throws: TicketError.unknown("T000009")) { try q.addBotLine("T000009", text: "x", now: Self.at(8)) }
        try q.markDelivered(t.id, count: 1, now: Self.at(9))
        try q.markDelivered(t.id, count: 2, now: Self.at(10))
        try q.markDelivered(t.id, count: 1, now: Self.at(11))
        let after = try #require(try q.ticket(t.id))
        #expect(after.agentReplies.map(\.text) == ["您好", "已为您处理"])
        #expect(after.agentReplies.first?.from == "agent:张三")
        #expect(after.deliveredReplies == 2)
        #expect(after.transcript.map(\.from) == ["customer", "agent:张三", "agent:张三", "customer", "bot"])
        #expect(after.turns == [turn])
        #expect(after.history.last == TicketHistoryEntry(time: Self.at(6), action: "note", agent: "李四", note: "注意"))
    }

    @Test("resolve by the holder (or on a waiting ticket); a resolved ticket takes no more work", arguments: QueueBackend.allCases)
    func resolve(_ backend: QueueBackend) throws {
        let q = try backend.backing().make()
        let t = try q.open(Self.draft("a"), now: Self.t0)
        try q.claim(t.id, agent: "张三", now: Self.at(1))
        #expect(throws: TicketError.claimedByOther(t.id, agent: "张三")) { try q.resolve(t.id, agent: "李四", note: nil, now: Self.at(2)) }
        try q.resolve(t.id, agent: "张三", note: "已补卡", now: Self.at(3))
        let done = try #require(try q.ticket(t.id))
        #expect(done.state == .resolved && done.resolvedAt == Self.at(3) && done.history.last?.note == "已补卡")
        #expect(throws: TicketError.alreadyResolved(t.id)) { try q.claim(t.id, agent: "张三", now: Self.at(4)) }
        #expect(throws: TicketError.alreadyResolved(t.id)) { try q.resolve(t.id, agent: "张三", note: nil, now: Self.at(4)) }
        #expect(try q.queue().isEmpty)
        #expect(try q.openTicket(customer: "a") == nil)
        #expect(try q.latestTicket(customer: "a")?.id == t.id)
        let unclaimed = try q.open(Self.draft("b"), now: Self.at(5))
        try q.resolve(unclaimed.id, agent: "李四", note: nil, now: Self.at(6))
        #expect(try q.claimNext(agent: "李四", now: Self.at(7)) == nil)
    }

    @Test("a customer withdraws a waiting ticket, not a claimed one", arguments: QueueBackend.allCases)
    func withdraw(_ backend: QueueBackend) throws {
        let q = try backend.backing().make()
        let waiting = try q.open(Self.draft("a"), now: Self.t0)
        let held = try q.open(Self.draft("b"), now: Self.at(1))
        try q.claim(held.id, agent: "张三", now: Self.at(2))
        try q.withdraw(waiting.id, now: Self.at(3))
        #expect(try q.ticket(waiting.id)?.state == .resolved)
        #expect(try q.ticket(waiting.id)?.history.last?.action == "withdrawn")
        #expect(throws: TicketError.claimedByOther(held.id, agent: "张三")) { try q.withdraw(held.id, now: Self.at(4)) }
        #expect(try q.queue().map(\.id) == [held.id])
    }

    @Test("escalation raises priority and reason, never lowers them, and moves the ticket up", arguments: QueueBackend.allCases)
    func escalate(_ backend: QueueBackend) throws {
        let q = try backend.backing().make()
        let first = try q.open(Self.draft("a", .complaint), now: Self.t0)
        let second = try q.open(Self.draft("b", .requested), now: Self.at(1))
        try q.escalate(second.id, reason: .emotion, now: Self.at(2))
        var t = try #require(try q.ticket(second.id))
        #expect(t.priority == 2 && t.reason == .emotion && t.history.last?.action == "escalated")
        try q.escalate(second.id, reason: .complaint, now: Self.at(3))
        #expect(try q.ticket(second.id)?.history.count == t.history.count, "a less urgent reason writes nothing")
        #expect(try q.position(of: second.id) == 1 && q.position(of: first.id) == 2)
        try q.escalate(first.id, reason: .safety, now: Self.at(4))
        t = try #require(try q.ticket(first.id))
        #expect(t.priority == 3 && t.reason == .safety)
        #expect(try q.claimNext(agent: "x", now: Self.at(5))?.id == first.id)
        #expect(try q.claimNext(agent: "x", now: Self.at(5))?.id == second.id)
    }

    @Test("a rating is 1 to 5 and kept on the ticket", arguments: QueueBackend.allCases)
    func rate(_ backend: QueueBackend) throws {
        let q = try backend.backing().make()
        let t = try q.open(Self.draft("a"), now: Self.t0)
        #expect(throws: TicketError.invalidRating(0)) { try q.rate(t.id, score: 0, now: Self.at(1)) }
        #expect(throws: TicketError.unknown("T000002")) { try q.rate("T000002", score: 4, now: Self.at(1)) }
        try q.rate(t.id, score: 5, now: Self.at(2))
        #expect(try q.ticket(t.id)?.rating == 5)
    }

    @Test("a resume code leads to its ticket while open and for a week after a person resolved it", arguments: QueueBackend.allCases)
    func resumableCodes(_ backend: QueueBackend) throws {
        let q = try backend.backing().make()
        let code = ResumeCode.generate()
        let t = try q.open(Self.draft("anon", resumeHash: code.hash), now: Self.t0)
        _ = try q.open(Self.draft("other", resumeHash: ResumeCode.generate().hash), now: Self.at(1))
        #expect(try q.ticket(t.id)?.resumeHash == code.hash)
        #expect(try q.resumable(codeHash: code.hash, now: Self.at(10))?.id == t.id)
        #expect(try q.resumable(codeHash: ResumeCode.generate().hash, now: Self.at(10)) == nil)
        try q.claim(t.id, agent: "张三", now: Self.at(20))
        try q.resolve(t.id, agent: "张三", note: nil, now: Self.at(30))
        #expect(try q.resumable(codeHash: code.hash, now: Self.at(30 + 86400))?.id == t.id)
        #expect(try q.resumable(codeHash: code.hash, now: Self.at(30 + Ticket.followUpWindow + 1)) == nil)
    }

    @Test("typical wait: the default before any claim, then the median of claim waits (at least 30 s)", arguments: QueueBackend.allCases)
    func typicalWait(_ backend: QueueBackend) throws {
        let q = try backend.backing().make()
        #expect(try q.typicalWait() == TicketStore.defaultWait)
        for (i, wait) in [10.0, 100, 200, 400, 600].enumerated() {
            let t = try q.open(Self.draft("c\(i)"), now: Self.at(Double(i)))
            try q.claim(t.id, agent: "x", now: Self.at(Double(i) + wait))
        }
        #expect(try q.typicalWait() == 200)
    }

    @Test("a new instance on the same store (a restart) sees every ticket as it was, and goes on numbering", arguments: QueueBackend.allCases)
    func reopen(_ backend: QueueBackend) throws {
        let backing = try backend.backing()
        var before: [Ticket] = []
        do {
            let q = try backing.make()
            let code = ResumeCode.generate()
            let a = try q.open(Self.draft("a", .money, resumeHash: code.hash), now: Self.t0)
            let b = try q.open(Self.draft("b"), now: Self.at(1))
            _ = try q.open(Self.draft("c", .threat), now: Self.at(2))
            try q.claim(a.id, agent: "张三", now: Self.at(3))
            try q.reply(a.id, agent: "张三", text: "您好", now: Self.at(4))
            try q.markDelivered(a.id, count: 1, now: Self.at(5))
            try q.transfer(b.id, from: "李四", to: "王五", now: Self.at(6))
            try q.resolve(b.id, agent: "王五", note: "ok", now: Self.at(7))
            try q.rate(b.id, score: 4, now: Self.at(8))
            try q.escalate(a.id, reason: .safety, now: Self.at(9))
            before = try q.all()
        }
        let again = try backing.make()
        #expect(try again.all() == before)
        #expect(try again.queue().map(\.customer) == ["a", "c"])
        #expect(try again.position(of: "T000003") == 1)
        #expect(try again.open(Self.draft("d"), now: Self.at(10)).id == "T000004")
        #expect(try again.typicalWait() == 30)
    }

    @Test("agents on several threads and instances: every ticket is claimed exactly once", arguments: QueueBackend.allCases)
    func concurrentClaims(_ backend: QueueBackend) throws {
        let backing = try backend.backing()
        let opener = try backing.make()
        let count = 60
        for i in 0..<count { _ = try opener.open(Self.draft("c\(i)", i % 3 == 0 ? .threat : .requested), now: Self.at(Double(i))) }
        let instances = try (0..<6).map { _ in try backing.make() }
        let claims = Mutex<[String: [String]]>([:])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 12) { n in
            let queue = instances[n % instances.count]
            let agent = "agent-\(n)"
            do {
                try queue.refresh()
                while let t = try queue.claimNext(agent: agent, now: Self.at(1000)) {
                    #expect(t.assignee == agent)
                    claims.withLock { $0[t.id, default: []].append(agent) }
                }
            } catch {
                failures.withLock { $0.append("\(agent): \(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let claimed = claims.withLock { $0 }
        #expect(claimed.count == count, "every ticket claimed")
        #expect(claimed.values.allSatisfy { $0.count == 1 }, "none claimed twice")
        try opener.refresh()
        for t in try opener.all() { #expect(t.state == .claimed && claimed[t.id] == [t.assignee ?? ""]) }
        // Many agents after one ticket at once: one wins, the others are told who.
        let contested = try opener.open(Self.draft("z"), now: Self.at(2000))
        let winners = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 12) { n in
            let queue = instances[n % instances.count]
            do {
                try queue.refresh()
                try queue.claim(contested.id, agent: "agent-\(n)", now: Self.at(2001))
                winners.withLock { $0.append("agent-\(n)") }
            } catch TicketError.claimedByOther {
            } catch {
                failures.withLock { $0.append("agent-\(n): \(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(winners.withLock { $0.count } == 1)
    }
}
