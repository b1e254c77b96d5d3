import Foundation
import Synchronization
import Testing
@testable import KefuCore

@Suite("Conversation records on Redis: versions and compare-and-set", .serialized)
struct RedisConversationRecordsTests {
    @Test("a save with a stale version is refused; load, save, remove follow the versions")
    func compareAndSet() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let records = RedisConversationRecords(client: RedisClient(configuration: try server.configuration()), idle: 60)
        let customer = "tcp:{odd} key 客户"
        #expect(try records.load(customer) == nil)
        #expect(try records.save(customer, Array("one".utf8), expected: 0) == 1)
        #expect(try records.save(customer, Array("stale".utf8), expected: 0) == nil, "another instance saved first")
        let loaded = try #require(try records.load(customer))
        #expect(loaded.state == Array("one".utf8) && loaded.version == 1)
        #expect(try records.save(customer, Array("two".utf8), expected: 1) == 2)
        let ttl = try records.client.command("PTTL", records.key(customer)).integer ?? -1
        #expect(ttl > 50_000 && ttl <= 60_000, "expires after the idle horizon")
        #expect(records.key(customer).hasPrefix("kefu:conversation:{") && !records.key(customer).contains("odd"))
        #expect(try records.remove(customer, expected: 1) == false)
        #expect(try records.remove(customer, expected: 2) == true)
        #expect(try records.load(customer) == nil)
    }

    @Test("8 writers on separate clients (instances) updating one conversation 50 times each: no update lost or applied twice")
    func concurrentUpdates() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let configuration = try server.configuration()
        let writers = 8, each = 50
        let conflicts = Mutex(0), failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for w in 0..<writers {
            group.enter()
            Thread {
                defer { group.leave() }
                let records = RedisConversationRecords(client: RedisClient(configuration: configuration))
                for _ in 0..<each {
                    var tries = 0
                    do {
                        try records.update("u1", attempts: 1000) { state in
                            tries += 1
                            let count = state.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
                            return Array(String(count + 1).utf8)
                        }
                    } catch {
                        failures.withLock { $0.append("writer \(w): \(error)") }
                    }
                    conflicts.withLock { $0 += tries - 1 }
                }
            }.start()
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        #expect(failures.withLock { $0 } == [])
        let records = RedisConversationRecords(client: RedisClient(configuration: configuration))
        let final = try #require(try records.load("u1"))
        #expect(String(decoding: final.state, as: UTF8.self) == String(writers * each))
        #expect(final.version == Int64(writers * each))
        print("Conversation compare-and-set: \(writers * each) updates from \(writers) instances, \(conflicts.withLock { $0 }) retried after a conflict, none lost")
    }
}
