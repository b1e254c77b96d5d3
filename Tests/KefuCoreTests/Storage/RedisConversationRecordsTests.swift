import Foundation
import Synchronization
import Testing
@testable import KefuCore

@Suite("Conversation records on Redis: turns, versions and compare-and-set", .serialized)
struct RedisConversationRecordsTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A save of `core` with these new lines (and no understood messages).
    static func save(_ customer: String, _ core: String, lines: [String] = [], rewrite: Bool = false, keep: Int = 42, expected: Int64) -> SharedSave {
        SharedSave(customer: customer, core: bytes(core), newLines: lines.map(bytes), newTurns: [], rewrite: rewrite, keep: keep, expected: expected)
    }

    @Test("one instance's turn at a time; a newer state comes with the turn; a late save is refused; an idle end removes the record")
    func turns() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let records = RedisConversationRecords(client: RedisClient(configuration: try server.configuration()))
        let customer = "tcp:{odd} key 客户"
        #expect(try records.beginTurns([(customer, 0)], owner: "A") == [SharedTurn.none])
        #expect(try records.beginTurns([(customer, 0)], owner: "B") == [.busy], "A's turn")
        #expect(try records.endTurns([Self.save(customer, "one", lines: ["a"], expected: 0)], owner: "A", keepFor: 60) == [1])
        #expect(try records.beginTurns([(customer, 0)], owner: "B") == [.stored(SharedState(core: Self.bytes("one"), lines: [Self.bytes("a")]), version: 1)],
                "A saved since B's copy")
        #expect(try records.endTurns([Self.save(customer, "two", lines: ["b"], expected: 1)], owner: "B", keepFor: 60) == [2])
        #expect(try records.beginTurns([(customer, 2)], owner: "B") == [.unchanged], "B's copy is current")
        try records.releaseTurns([customer], owner: "B")
        // A's copy is version 1: a save from it is refused, B's state stays.
        #expect(try records.endTurns([Self.save(customer, "stale", lines: ["x"], expected: 1)], owner: "A", keepFor: 60) == [nil])
        #expect(try records.load(customer)?.state == SharedState(core: Self.bytes("two"), lines: [Self.bytes("a"), Self.bytes("b")]),
                "a refused save writes nothing")
        let ttl = try records.client.command("PTTL", records.key(customer)).integer ?? -1
        #expect(ttl > 50_000 && ttl <= 60_000, "expires an idle horizon after the last save")
        #expect(records.key(customer).hasPrefix("kefu:conversation:{") && !records.key(customer).contains("odd"))
        #expect(try records.finish(customer, expected: 1, owner: "A") == false, "carried on by B: not over")
        #expect(try records.finish(customer, expected: 2, owner: "B") == true)
        #expect(try records.load(customer) == nil)
        #expect(try records.client.command("EXISTS", records.key(customer) + ":lines").integer == 0, "its lists are gone with it")
    }

    @Test("a save appends only the new lines and keeps the last ones; a rewrite replaces them")
    func listsGrowAndAreTrimmed() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let records = RedisConversationRecords(client: RedisClient(configuration: try server.configuration()))
        var version: Int64 = 0
        for n in 0..<5 {
            _ = try records.beginTurns([("u", version)], owner: "A")
            version = try #require(try records.endTurns([Self.save("u", "core \(n)", lines: ["q\(n)", "a\(n)"], keep: 6, expected: version)],
                                                         owner: "A", keepFor: 60)[0])
        }
        let grown = try #require(try records.load("u"))
        #expect(grown.state.lines.map(Self.text) == ["q2", "a2", "q3", "a3", "q4", "a4"], "the last six, in order")
        #expect(Self.text(grown.state.core) == "core 4")
        _ = try records.beginTurns([("u", version)], owner: "A")
        _ = try records.endTurns([Self.save("u", "new", lines: ["hello"], rewrite: true, keep: 6, expected: version)], owner: "A", keepFor: 60)
        #expect(try records.load("u")?.state.lines.map(Self.text) == ["hello"])
    }

    @Test("8 instances stepping one customer 50 times each, on turns: no step lost or applied twice, no save refused")
    func concurrentTurns() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let configuration = try server.configuration()
        let writers = 8, each = 50
        let busy = Mutex(0), problems = Mutex<[String]>([])
        let group = DispatchGroup()
        for w in 0..<writers {
            group.enter()
            Thread {
                defer { group.leave() }
                let records = RedisConversationRecords(client: RedisClient(configuration: configuration))
                var copy: (count: Int, version: Int64) = (0, 0)
                do {
                    for _ in 0..<each {
                        var turn = try records.beginTurns([("u1", copy.version)], owner: "w\(w)")[0]
                        while turn == .busy {
                            busy.withLock { $0 += 1 }
                            usleep(200)
                            turn = try records.beginTurns([("u1", copy.version)], owner: "w\(w)")[0]
                        }
                        if case .stored(let state, let version) = turn { copy = (Int(Self.text(state.core)) ?? -1, version) }
                        let next = copy.count + 1
                        guard let version = try records.endTurns([Self.save("u1", String(next), lines: ["w\(w)"], expected: copy.version)],
                                                                 owner: "w\(w)", keepFor: 600)[0] else {
                            problems.withLock { $0.append("writer \(w): a save was refused while it held the turn") }
                            return
                        }
                        copy = (next, version)
                    }
                } catch {
                    problems.withLock { $0.append("writer \(w): \(error)") }
                }
            }.start()
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        #expect(problems.withLock { $0 } == [])
        let final = try #require(try RedisConversationRecords(client: RedisClient(configuration: configuration)).load("u1"))
        #expect(Self.text(final.state.core) == String(writers * each))
        #expect(final.state.lines.count == 42, "each step appended one line; the last 42 kept")
        #expect(final.version == Int64(writers * each))
        print("Conversation turns: \(writers * each) steps from \(writers) instances, \(busy.withLock { $0 }) waits for another's turn, none lost")
    }
}
