import Foundation
import Synchronization
import Testing
@testable import KefuCore

@Suite("Conversation records on Redis: turns, versions and compare-and-set", .serialized)
struct RedisConversationRecordsTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("one instance's turn at a time; a newer state comes with the turn; a late save is refused; an idle end removes the record")
    func turns() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let records = RedisConversationRecords(client: RedisClient(configuration: try server.configuration()))
        let customer = "tcp:{odd} key 客户"
        #expect(try records.beginTurns([(customer, 0)], owner: "A") == [SharedTurn.none])
        #expect(try records.beginTurns([(customer, 0)], owner: "B") == [.busy], "A's turn")
        #expect(try records.endTurns([(customer, Array("one".utf8), 0)], owner: "A", keepFor: 60) == [1])
        #expect(try records.beginTurns([(customer, 0)], owner: "B") == [.stored(Array("one".utf8), version: 1)], "A saved since B's copy")
        #expect(try records.endTurns([(customer, Array("two".utf8), 1)], owner: "B", keepFor: 60) == [2])
        #expect(try records.beginTurns([(customer, 2)], owner: "B") == [.unchanged], "B's copy is current")
        try records.releaseTurns([customer], owner: "B")
        // A's copy is version 1: a save from it is refused, B's state stays.
        #expect(try records.endTurns([(customer, Array("stale".utf8), 1)], owner: "A", keepFor: 60) == [nil])
        #expect(try records.load(customer).map { Self.text($0.state) } == "two")
        let ttl = try records.client.command("PTTL", records.key(customer)).integer ?? -1
        #expect(ttl > 50_000 && ttl <= 60_000, "expires an idle horizon after the last save")
        #expect(records.key(customer).hasPrefix("kefu:conversation:{") && !records.key(customer).contains("odd"))
        #expect(try records.finish(customer, expected: 1, owner: "A") == false, "carried on by B: not over")
        #expect(try records.finish(customer, expected: 2, owner: "B") == true)
        #expect(try records.load(customer) == nil)
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
                        if case .stored(let state, let version) = turn { copy = (Int(Self.text(state)) ?? -1, version) }
                        let next = copy.count + 1
                        guard let version = try records.endTurns([("u1", Array(String(next).utf8), copy.version)], owner: "w\(w)", keepFor: 600)[0] else {
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
        #expect(Self.text(final.state) == String(writers * each))
        #expect(final.version == Int64(writers * each))
        print("Conversation turns: \(writers * each) steps from \(writers) instances, \(busy.withLock { $0 }) waits for another's turn, none lost")
    }
}
