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

    @Test("a customer's conversation follows them from instance to instance: a misunderstanding on one and another on the next offer a person, and yes on a third hands off with the whole transcript")
    func conversationFollowsCustomer() throws {
        let cluster = try SharedGateways(3)
        defer { cluster.stop() }
        func say(_ text: String, on instance: Int) throws -> [String: Any] {
            let c = try cluster.integration(instance)
            c.send(json: ["session": "s", "customer": "u-moving", "text": text])
            return try #require(c.object(), "a reply from instance \(instance)")
        }
        let first = try say("今天股市行情如何", on: 0)
        #expect(first["route"] as? String == "fallback")
        let second = try say("推荐几部电影吧", on: 1)
        #expect("\(second["text"] ?? "")".contains("offer_person"), "the second misunderstanding in a row, counted across instances: \(second)")
        let third = try say("好", on: 2)
        let id = try #require(third["ticket"] as? String, "yes to the offer, on a third instance: \(third)")
        let ticket = try #require(try cluster[0].desk.tickets.ticket(id))
        #expect(ticket.reason == .repeatedFailure)
        let said = ticket.transcript.filter { $0.from == "customer" }.map(\.text)
        #expect(said == ["今天股市行情如何", "推荐几部电影吧", "好"], "the agent sees what was said on every instance")
    }

    @Test("a long conversation moves whole: its first line, the note of lines left out and the last lines, each once")
    func longConversationMoves() throws {
        let cluster = try SharedGateways(2)
        defer { cluster.stop() }
        let first = try cluster.integration(0)
        let asked = (1...30).map { "第\($0)个问题：我要退款" }
        for text in asked {
            first.send(json: ["session": "s", "customer": "u-long", "text": text])
            #expect(first.object()?["text"] != nil)
        }
        let second = try cluster.integration(1)
        second.send(json: ["session": "s", "customer": "u-long", "text": "转人工"])
        let id = try #require(second.object()?["ticket"] as? String)
        let transcript = try #require(try cluster[0].desk.tickets.ticket(id)).transcript
        #expect(transcript.first?.text == asked[0], "the customer's first line")
        #expect(transcript.contains { $0.from == ConversationState.omittedFrom }, "the gap is marked")
        let said = transcript.filter { $0.from == "customer" }.map(\.text)
        #expect(said.last == "转人工")
        #expect(Array(said.dropFirst().dropLast().suffix(5)) == Array(asked.suffix(5)), "the last lines, in order")
        #expect(Set(said).count == said.count, "no line twice")
    }

    @Test("round trips: a customer's message costs two on the engine's path (take the turn, save it) and one for the events of its batch")
    func roundTripsPerMessage() throws {
        let cluster = try SharedGateways(1, appendOnly: false)
        defer { cluster.stop() }
        let engine = try #require(cluster[0].desk.tickets as? RedisTicketQueue).client
        let events = try #require(cluster[0].desk.events as? RedisEventSink).client
        let c = try cluster.integration(0)
        let texts = ["我要退款", "卡丢了", "快递到哪了", "在吗"]
        c.send(json: ["session": "s", "customer": "u-count", "text": "你好"])  // the conversation starts, scripts load
        _ = c.object()
        let (engineBefore, eventsBefore) = (engine.exchanges, events.exchanges)
        let messages = 20
        for n in 0..<messages {
            c.send(json: ["session": "s", "customer": "u-count", "text": texts[n % texts.count]])
            #expect(c.object()?["text"] != nil)
        }
        let perMessage = Double(engine.exchanges - engineBefore) / Double(messages)
        let eventWrites = Double(events.exchanges - eventsBefore) / Double(messages)
        #expect(perMessage <= 2, "take the turn and save it, nothing else on the engine's path")
        #expect(eventWrites <= 1)
        print("Redis round trips per customer message: \(perMessage) on the engine's path, \(eventWrites) for events (one per batch, each message its own batch here)")
    }

    @Test("kill -9 of the customer's instance: the customer reconnects to another and continues where they were, nothing acknowledged lost")
    func customerInstanceKilled() throws {
        let redis = try RedisServerProcess(appendOnly: true)
        defer { redis.remove() }
        let fixture = try KnowledgeFixture.make()
        let token = "shared-\(UUID().uuidString)"
        let store = ["--store", "redis://127.0.0.1:\(redis.port)/0"]
        let environment = ["KEFU_INTEGRATION_TOKEN": token]
        // A data folder that does not exist yet: kefu serve creates it for the accounts and secrets.
        let doomed = try ServeProcessTests.Server(kb: fixture.folder, data: Scratch.folder("doomed") + "/not-yet", options: store, environment: environment)
        let survivor = try ServeProcessTests.Server(kb: fixture.folder, data: Scratch.folder("survivor"), options: store, environment: environment)
        defer { survivor.process.terminate(); survivor.process.waitUntilExit() }

        let before = try SharedGateways.integration(doomed.customer, token: token)
        before.send(json: ["session": "s", "customer": "u-crash", "text": "今天股市行情如何"])
        #expect(try #require(before.object())["route"] as? String == "fallback")
        kill(doomed.process.processIdentifier, SIGKILL)
        doomed.process.waitUntilExit()

        let after = try SharedGateways.integration(survivor.customer, token: token)
        after.send(json: ["session": "s", "customer": "u-crash", "text": "推荐几部电影吧"])
        let offer = try #require(after.object())
        #expect("\(offer["text"] ?? "")".contains("offer_person"), "the misunderstanding before the crash still counts: \(offer)")
        after.send(json: ["session": "s", "customer": "u-crash", "text": "好"])
        let handedOff = try #require(after.object())
        let id = try #require(handedOff["ticket"] as? String, "\(handedOff)")
        let desk = try RedisStore.desk(configuration: try redis.configuration(), folder: Scratch.folder("reader"))
        let ticket = try #require(try desk.tickets.ticket(id))
        #expect(ticket.transcript.filter { $0.from == "customer" }.map(\.text) == ["今天股市行情如何", "推荐几部电影吧", "好"])
        let events = try desk.events.readAll().events
        #expect(events.filter { $0.kind == .message }.map(\.text) == ["今天股市行情如何", "推荐几部电影吧"],
                "the message answered by the killed instance is in the event stream")
        #expect(events.filter { $0.kind == .conversationStart }.count == 1, "one conversation, not a new one on the second instance")
        #expect(events.contains { $0.kind == .handoff && $0.ticket == id })
    }

    @Test("an agent replies while the customer is away; the customer comes back on another instance and sees the reply once")
    func missedReplyOnAnotherInstance() throws {
        let cluster = try SharedGateways(2)
        defer { cluster.stop() }
        let away = try cluster.integration(0)
        away.send(json: ["session": "s", "customer": "u-away", "text": "转人工"])
        let id = try #require(away.object()?["ticket"] as? String)
        away.close()
        let agent = try cluster[0].loggedInAgent("张三")
        agent.send("CLAIM \(id)")
        agent.send("REPLY \(id) 您的退款已经处理好了")
        var answers: [String] = []
        while answers.count < 2, let line = agent.line() { if !line.hasPrefix("* ") { answers.append(line) } }
        #expect(answers.last?.hasPrefix("OK") == true, "\(answers)")
        let back = try cluster.integration(1)
        back.send(json: ["session": "s", "customer": "u-away", "text": "在吗"])
        let first = "\(try #require(back.object())["text"] ?? "")"
        #expect(first.contains("您的退款已经处理好了"), "the missed reply, on the other instance: \(first)")
        // The agent's next reply reaches this instance live, alone: the first is not shown twice.
        agent.send("REPLY \(id) 还有别的问题吗")
        let second = "\(try #require(back.object())["text"] ?? "")"
        #expect(second.contains("还有别的问题吗") && !second.contains("您的退款已经处理好了"), "not twice: \(second)")
    }

    @Test("a case handed off on one instance and worked from another: the agent hears of it, of the customer's messages and of transfers and releases made elsewhere; the customer hears the agent join and is asked to rate after resolve")
    func noticesAcrossInstances() throws {
        let cluster = try SharedGateways(2)
        defer { cluster.stop() }
        let agent = try cluster[0].loggedInAgent("张三")
        let customer = try cluster.integration(1)
        func nextNotice(_ prefix: String) -> String? {
            while let line = agent.line() { if line.hasPrefix(prefix) { return line } }
            return nil
        }
        func nextReply(containing text: String) -> [String: Any]? {
            while let object = customer.object() { if "\(object["text"] ?? "")".contains(text) { return object } }
            return nil
        }
        customer.send(json: ["session": "s", "customer": "u-far", "text": "转人工"])
        let id = try #require(customer.object()?["ticket"] as? String)
        #expect(nextNotice("* NEW")?.hasPrefix("* NEW \(id) ") == true, "the new case reached the agent on the other instance")
        agent.send("CLAIM \(id)")
        #expect(nextNotice("OK") == "OK \(id) claimed")
        #expect(nextReply(containing: "已接入") != nil, "the customer hears the agent join, from the other instance")
        customer.send(json: ["session": "s", "customer": "u-far", "text": "我的卡号是6222020200112233445"])
        let message = try #require(nextNotice("* MESSAGE"))
        #expect(message.hasPrefix("* MESSAGE \(id) ") && !message.contains("6222020200112233445"), "told, masked: \(message)")
        // Handed to an agent on the customer's instance and back: each hears of it where they are.
        let colleague = try cluster[1].loggedInAgent("李四")
        agent.send("TRANSFER \(id) 李四")
        #expect(nextNotice("OK") == "OK \(id) transferred to 李四")
        var told: String?
        while let line = colleague.line() { if line.hasPrefix("* TRANSFERRED") { told = line; break } }
        #expect(told == "* TRANSFERRED \(id) from 张三", "the agent the case went to, on the other instance")
        colleague.send("TRANSFER \(id) 张三")
        #expect(nextNotice("* TRANSFERRED") == "* TRANSFERRED \(id) from 李四")
        // A supervisor on the other instance takes it from 张三, then puts it back: he hears both.
        let supervisor = try cluster[1].loggedInAgent("主管")
        supervisor.send("TRANSFER \(id) 李四")
        #expect(nextNotice("* TRANSFERRED") == "* TRANSFERRED \(id) to 李四 by 主管")
        colleague.send("TRANSFER \(id) 张三")
        #expect(nextNotice("* TRANSFERRED") == "* TRANSFERRED \(id) from 李四")
        supervisor.send("RELEASE \(id)")
        #expect(nextNotice("* RELEASED") == "* RELEASED \(id) by 主管")
        agent.send("CLAIM \(id)")
        #expect(nextNotice("OK") == "OK \(id) claimed")
        agent.send("RESOLVE \(id) done")
        #expect(nextNotice("OK") == "OK \(id) resolved")
        #expect(nextReply(containing: "评分") != nil, "the customer's instance hands the case back to the bot for a rating")
        customer.send(json: ["session": "s", "customer": "u-far", "text": "5"])
        #expect(nextReply(containing: "评分已记录") != nil)
        #expect(try cluster[0].desk.tickets.ticket(id)?.rating == 5)
    }
}

/// Gateways on one Redis that share the integration token, as behind a load balancer.
final class SharedGateways {
    let redis: RedisServerProcess
    let token = "shared-\(UUID().uuidString)"
    private let gateways: [RunningGateway]

    /// - Parameter appendOnly: Redis syncs every write (as a deployment should).
    init(_ count: Int, appendOnly: Bool = true) throws {
        redis = try RedisServerProcess(appendOnly: appendOnly)
        let configuration = try redis.configuration()
        let token = token
        gateways = try (0..<count).map { _ in
            try RunningGateway(configure: { $0.integrationToken = token },
                               desk: { try RedisStore.desk(configuration: configuration, folder: $0) })
        }
    }

    subscript(_ instance: Int) -> RunningGateway { gateways[instance] }

    /// A JSON Lines connection to an instance, authenticated as the integration.
    func integration(_ instance: Int) throws -> TestClient {
        try Self.integration(gateways[instance].customer, token: token)
    }

    static func integration(_ address: Socket.Address, token: String) throws -> TestClient {
        let c = try TestClient(address)
        c.send(json: ["auth": token])
        #expect(c.object()?["type"] as? String == "authenticated")
        return c
    }

    func stop() {
        gateways.forEach { $0.stop() }
        redis.remove()
    }
}

/// Hands test clients (not `Sendable`, each used by one thread at a time) to worker threads.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
