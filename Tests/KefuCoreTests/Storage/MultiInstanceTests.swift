import Foundation
import Synchronization
import Testing
@testable import KefuCore

/// Several gateways on one Redis (`kefu serve --store`), as behind a TCP load balancer.
@Suite("Gateways sharing one Redis", .serialized)
struct MultiInstanceTests {
    static let agents = (1...20).map { (name: String(format: "agent-%02d", $0), role: AgentRole.agent) }

    @Test("3 gateways, 200 handoffs spread over them, 20 agents on different instances taking NEXT at once: each ticket claimed exactly once, none lost")
    func claimsAcrossInstances() throws {
        let redis = try RedisServerProcess(appendOnly: true)
        defer { redis.remove() }
        let configuration = try redis.configuration()
        let gateways = try (0..<3).map { _ in
            try RunningGateway(folder: try AgentAccountFixture.add(Self.agents, to: RunningGateway.dataFolder()),
                               configure: { config in
                                   config.linesPerSecond = 100_000
                                   config.burst = 100_000
                               },
                               desk: { try RedisStore.desk(configuration: configuration, folder: $0) })
        }
        defer { gateways.forEach { $0.stop() } }

        // 200 customers on 12 JSON Lines connections, 4 per instance, each asking for a person.
        let handoffs = 200
        let connections = try (0..<12).map { try TestClient(gateways[$0 % 3].customer) }
        for n in 0..<handoffs {
            connections[n % connections.count].send(#"{"session":"s\#(n)","customer":"u\#(n)","text":"转人工"}"#)
        }
        var told: [String: String] = [:]  // customer → ticket
        for (c, connection) in connections.enumerated() {
            for _ in stride(from: c, to: handoffs, by: connections.count) {
                let object = try #require(connection.object(), "a reply for every customer")
                let ticket = try #require(object["ticket"] as? String, "\(object)")
                told[object["customer"] as? String ?? "?"] = ticket
            }
        }
        #expect(told.count == handoffs)
        #expect(Set(told.values) == Set((1...handoffs).map { String(format: "T%06d", $0) }), "ids unique across instances, none skipped")

        // 20 agents, spread over the instances, all taking NEXT until none is left.
        let claims = Mutex<[String: [String]]>([:])
        let problems = Mutex<[String]>([])
        let clients = Unchecked(try Self.agents.enumerated().map { i, agent in try gateways[i % 3].loggedInAgent(agent.name) })
        // One thread per agent (not concurrentPerform, which runs as many as there are cores),
        // all let go at once.
        let start = DispatchSemaphore(value: 0), finished = DispatchGroup()
        for i in clients.value.indices {
            finished.enter()
            Thread {
                defer { finished.leave() }
                start.wait()
                let client = clients.value[i], name = Self.agents[i].name
                while true {
                    client.send("NEXT")
                    var answer: String?
                    while let line = client.line() {
                        if line.hasPrefix("* ") { continue }  // a notification
                        answer = line
                        break
                    }
                    guard let answer else { problems.withLock { $0.append("\(name): no answer") }; return }
                    if answer == "OK none waiting" { return }
                    let parts = answer.split(separator: " ")
                    guard parts.count > 2, parts[0] == "OK", parts[2] == "claimed" else {
                        problems.withLock { $0.append("\(name): \(answer)") }
                        return
                    }
                    claims.withLock { $0[String(parts[1]), default: []].append(name) }
                }
            }.start()
        }
        for _ in clients.value.indices { start.signal() }
        #expect(finished.wait(timeout: .now() + 120) == .success, "every agent finished")
        #expect(problems.withLock { $0 } == [])
        let claimed = claims.withLock { $0 }
        #expect(claimed.count == handoffs, "every ticket claimed")
        #expect(claimed.values.allSatisfy { $0.count == 1 }, "none claimed twice")
        let perAgent = Dictionary(grouping: claimed, by: { $0.value.first ?? "" }).mapValues(\.count)
        #expect(perAgent.count >= 10, "the work was shared: \(perAgent)")
        // What Redis holds agrees, read through another instance's desk.
        let stored = try gateways[2].desk.tickets.all()
        #expect(stored.count == handoffs)
        for t in stored { #expect(t.state == .claimed && claimed[t.id] == [t.assignee ?? "?"]) }
        print("3 gateways on one Redis: \(handoffs) handoffs, \(claimed.count) claimed once each by \(perAgent.count) agents (most \(perAgent.values.max() ?? 0), fewest \(perAgent.values.min() ?? 0))")
    }

    @Test("Redis down at a handoff: the customer is told it could not be recorded, and no ticket number; back up, the handoff works")
    func redisDownAtHandoff() throws {
        let redis = try RedisServerProcess(appendOnly: true)
        defer { redis.remove() }
        let configuration = try redis.configuration(commandTimeout: .seconds(2))
        let gateway = try RunningGateway(desk: { try RedisStore.desk(configuration: configuration, folder: $0) })
        defer { gateway.stop() }
        let c = try TestClient(gateway.customer)
        c.send(#"{"session":"s1","customer":"u1","text":"你好"}"#)
        #expect(c.object()?["session"] as? String == "s1")
        redis.stop()
        c.send(#"{"session":"s1","customer":"u1","text":"转人工"}"#)
        let refused = try #require(c.object())
        #expect(refused["ticket"] == nil, "no number Redis did not acknowledge: \(refused)")
        #expect("\(refused)".contains("系统暂时无法记录"))
        try redis.start()
        // The gateway reconnects after its back-off (50 ms, doubling); the customer tries again.
        var accepted: [String: Any] = [:]
        for _ in 0..<30 where accepted["ticket"] == nil {
            c.send(#"{"session":"s1","customer":"u1","text":"转人工"}"#)
            accepted = try #require(c.object())
            if accepted["ticket"] == nil { usleep(100_000) }
        }
        let id = try #require(accepted["ticket"] as? String, "\(accepted)")
        #expect(try gateway.desk.tickets.ticket(id)?.customer != nil)
    }

    @Test("an agent on one instance replies to a customer connected to another: delivered live there, and counted as delivered")
    func liveRelayAcrossInstances() throws {
        let redis = try RedisServerProcess(appendOnly: true)
        defer { redis.remove() }
        let configuration = try redis.configuration()
        let gateways = try (0..<2).map { _ in try RunningGateway(desk: { try RedisStore.desk(configuration: configuration, folder: $0) }) }
        defer { gateways.forEach { $0.stop() } }
        let customer = try TestClient(gateways[1].customer)
        customer.send("转人工")
        #expect(customer.block()?.contains("T000001") == true)
        let agent = try gateways[0].loggedInAgent("张三")
        agent.send("NEXT")
        #expect(agent.line()?.hasPrefix("OK T000001 claimed") == true)
        agent.send("REPLY T000001 您好，我来帮您处理")
        var answer = agent.line()
        while answer?.hasPrefix("* ") == true { answer = agent.line() }
        #expect(answer?.hasPrefix("OK relayed") == true, "\(answer ?? "nothing")")
        var seen: String?
        while let line = customer.line() {
            if line.contains("您好，我来帮您处理") { seen = line; break }
        }
        #expect(seen == "[人工客服 张三] 您好，我来帮您处理")
        var delivered = 0
        for _ in 0..<50 where delivered == 0 {
            delivered = try gateways[0].desk.tickets.ticket("T000001")?.deliveredReplies ?? 0
            if delivered == 0 { usleep(20_000) }
        }
        #expect(delivered == 1, "the instance that delivered it counted it: not shown again on the next message")
        customer.send("好的")
        let next = customer.block() ?? ""
        #expect(!next.contains("我来帮您处理"), "\(next)")
    }
}

/// Hands test clients (not `Sendable`, each used by one thread at a time) to worker threads.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
