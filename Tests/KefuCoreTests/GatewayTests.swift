import Foundation
import Testing
@testable import KefuCore

/// A blocking test client: send a line, read a reply block (ends with an empty line) or a line.
final class TestClient {
    /// The one line client (`kefu agent --connect` and the benchmarks use it too), with a
    /// timeout short enough for a failing test to end soon.
    let client: LineClient

    init(_ address: Socket.Address) throws {
        client = try LineClient(address, timeout: 5)
    }

    // Sends and reads do not throw here: a test expects on what it read, and nil (a timeout,
    // a closed connection) fails the expectation with the line it was compared to.
    func send(_ text: String) { try? client.send(text) }
    /// One JSON Lines object as a line.
    func send(json object: [String: Any]) {
        send(String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
    func sendBytes(_ bytes: [UInt8]) { try? client.send(bytes: bytes) }

    /// Lines up to the next empty line (a plain-mode reply block), or nil on timeout/close.
    func block() -> String? { try? client.block() }
    func line() -> String? { try? client.line() }
    /// The next line as a JSON object, or nil on timeout, close or a line that is not one.
    func object() -> [String: Any]? {
        line().flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    /// Whether the server closed the connection (reads end-of-file within the timeout).
    func isClosed() -> Bool { client.isClosed() }
    /// Hangs up, as a customer who goes away.
    func close() { client.close() }
}

/// A gateway on ephemeral loopback ports, with a fixture knowledge base and its own data
/// folder holding the standard agent accounts (`AgentAccountFixture`).
final class RunningGateway {
    let gateway: Gateway
    let customer: Socket.Address
    let agent: Socket.Address
    let desk: ServiceDesk
    let integrationToken = "test-integration-\(UUID().uuidString)"
    /// What the server told its operator (stderr in `kefu serve`).
    let log = CollectingLog()
    private let thread: Thread
    private let done = NSCondition()
    private var finished = false

    /// A data folder of its own for a server that is started again on it (a restart).
    static func dataFolder() -> String { Scratch.folder("gw") }

    /// - Parameter makeDesk: the desk for the data folder (with its accounts): the journals in
    ///   it unless a test gives another store (Redis, shared by several gateways).
    init(folder: String = RunningGateway.dataFolder(), configure: (inout GatewayConfiguration) -> Void = { _ in },
         desk makeDesk: (String) throws -> ServiceDesk = { try ServiceDesk(folder: $0) }) throws {
        let kb = try KnowledgeFixture.make().load()
        desk = try makeDesk(try AgentAccountFixture.add(to: folder))
        var config = GatewayConfiguration()
        // Tests fail logins on purpose, all from 127.0.0.1: no back-off unless a test asks.
        config.login.firstDelay = 0
        config.integrationToken = integrationToken
        config.log = log
        config.customerAddress = Socket.Address(host: "127.0.0.1", port: 0)
        config.agentAddress = Socket.Address(host: "127.0.0.1", port: 0)
        configure(&config)
        gateway = try Gateway(kb: kb, desk: desk, configuration: config)
        (customer, agent) = try gateway.bind()
        let box = (gateway, done)
        thread = Thread { [box] in
            box.0.run()
            box.1.lock()
            box.1.broadcast()
            box.1.unlock()
        }
        thread.start()
    }

    func stop() {
        gateway.shutdown()
        done.lock()
        _ = done.wait(until: Date().addingTimeInterval(5))
        done.unlock()
    }

    func loggedInAgent(_ name: String = "张三") throws -> TestClient {
        let a = try TestClient(agent)
        a.send("AUTH \(name) \(AgentAccountFixture.password(for: name))")
        #expect(a.line() == "OK welcome \(name)")
        return a
    }

    /// The figures `STATS` reports, as a JSON object.
    func stats(_ a: TestClient) throws -> [String: Any] {
        a.send("STATS")
        let line = try #require(a.line())
        #expect(line.hasPrefix("OK {"))
        return try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(3).utf8)) as? [String: Any])
    }

    /// A JSON Lines connection that has authenticated as the integration.
    func integration() throws -> TestClient {
        let c = try TestClient(customer)
        c.send(json: ["auth": integrationToken])
        #expect(c.object()?["type"] as? String == "authenticated")
        return c
    }

    /// Waits (asking `STATS` on `agent`) until this many customers are connected, so that a
    /// customer who hung up is gone before the test goes on; returns the last count seen.
    @discardableResult
    func waitForCustomers(_ count: Int, asking agent: TestClient) throws -> Int {
        var customers = -1
        for _ in 0..<100 {
            let object = try stats(agent)
            customers = (object["connections"] as? [String: Int])?["customers"] ?? -1
            if customers == count { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return customers
    }

    /// A customer hands off and goes away (`handOff` opens their connection, which closes when
    /// it returns, and returns what they were told); `agent`, logged in with nothing unread,
    /// claims the ticket and replies while they are away.
    @discardableResult
    func leaveWaitingReply(_ reply: String, ticket: String = "T000001", agent: TestClient,
                           handOff: () throws -> String) throws -> String {
        let told = try handOff()
        #expect(agent.line()?.hasPrefix("* NEW \(ticket)") == true)
        try #require(waitForCustomers(0, asking: agent) == 0)
        agent.send("CLAIM \(ticket)")
        #expect(agent.line() == "OK \(ticket) claimed")
        agent.send("REPLY \(ticket) \(reply)")
        #expect(agent.line()?.hasPrefix("OK recorded") == true)
        return told
    }

    /// A plain customer on a connection of their own: any first lines (such as `/id NAME`),
    /// then `转人工`; returns the handoff block.
    func plainHandOff(after firstLines: [String] = []) throws -> String {
        try waitingPlainCustomer(after: firstLines).told
    }

    /// The same customer, with their connection still open to go on waiting.
    func waitingPlainCustomer(after firstLines: [String] = []) throws -> (client: TestClient, told: String) {
        let c = try TestClient(customer)
        for line in firstLines {
            c.send(line)
            _ = c.block()
        }
        c.send("转人工")
        let told = try #require(c.block())
        #expect(told.contains("服务单号"))
        return (c, told)
    }
}

/// The resume code a customer was told at handoff (`/resume CODE`), if any.
func resumeCode(in text: String) -> String? {
    guard let range = text.range(of: #"/resume [0-9A-Z]+"#, options: .regularExpression) else { return nil }
    return String(text[range].dropFirst("/resume ".count))
}

@Suite("The gateway", .serialized)
struct GatewayTests {
    @Test("a plain connection is one conversation: each line gets a reply block")
    func plainSession() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let c = try TestClient(server.customer)
        c.send("银行卡丢了怎么办")
        let reply = try #require(c.block())
        #expect(reply.contains(KnowledgeFixture.answerText), "the card_loss answer")
        c.send("转人工")
        #expect(c.block()?.contains("T000001") == true)
    }

    @Test("JSON Lines mode carries several conversations on one connection")
    func jsonSessions() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let c = try TestClient(server.customer)
        c.send(#"{"session":"s1","customer":"u1","text":"我要退款"}"#)
        c.send(#"{"session":"s2","customer":"u2","text":"转人工"}"#)
        let first = try #require(c.line()), second = try #require(c.line())
        let objects = try [first, second].map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let bySession = Dictionary(uniqueKeysWithValues: objects.map { ($0["session"] as! String, $0) })
        #expect(bySession["s1"]?["customer"] as? String == "u1", "the customer as the client named them")
        #expect(bySession["s1"]?["route"] as? String == "answer")
        #expect(bySession["s1"]?["topic"] as? String == "return_refund")
        #expect(bySession["s2"]?["route"] as? String == "handoff")
        #expect(bySession["s2"]?["ticket"] as? String == "T000001")
        c.send(#"{"text":"no session"}"#)
        #expect(c.line()?.contains("\"error\"") == true)
    }

    @Test("agents must authenticate; a wrong password or unknown name is refused and repeated failures close the connection")
    func agentAuthentication() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let a = try TestClient(server.agent)
        a.send("LIST")
        #expect(a.line()?.hasPrefix("ERR authenticate first") == true)
        a.send("AUTH 张三 \(AgentAccountFixture.password(for: "李四"))")
        #expect(a.line() == "ERR authentication failed", "another agent's password")
        a.send("AUTH mallory guess")
        #expect(a.line() == "ERR authentication failed", "no such agent")
        a.send("AUTH 张三 guess")
        #expect(a.line() == "ERR authentication failed")
        #expect(a.isClosed())
        let ok = try server.loggedInAgent()
        ok.send("LIST")
        #expect(ok.line() == "OK 0")
        #expect(ok.line() == ".")
    }

    @Test("the customer port never runs agent commands")
    func customersCannotReachAgentCommands() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let c = try TestClient(server.customer)
        c.send("AUTH 张三 \(AgentAccountFixture.password(for: "张三"))")
        let reply = try #require(c.block())
        #expect(!reply.hasPrefix("OK"))
    }

    @Test("claim and live relay both ways, then resolve hands back to the bot for a rating")
    func liveRelay() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        let c = try TestClient(server.customer)
        c.send("/id vip1")
        _ = c.block()
        c.send("转人工")
        #expect(c.block()?.contains("T000001") == true)
        #expect(agent.line()?.hasPrefix("* NEW T000001") == true)
        agent.send("CLAIM T000001")
        #expect(agent.line() == "OK T000001 claimed")
        #expect(c.block()?.contains("张三 已接入") == true)
        agent.send("REPLY T000001 您好，我来帮您")
        #expect(agent.line() == "OK delivered")
        #expect(c.block()?.contains("[人工客服 张三] 您好，我来帮您") == true)
        c.send("我的卡号是6222021234567890123")
        _ = c.block()
        #expect(agent.line() == "* MESSAGE T000001 我的卡号是6222 **** **** 0123")
        agent.send("RESOLVE T000001 done")
        #expect(agent.line() == "OK T000001 resolved")
        #expect(c.block()?.contains("评分") == true)
        c.send("5")
        #expect(c.block()?.contains("评分已记录") == true)
        #expect(try server.desk.tickets.ticket("T000001")?.rating == 5)
    }

    @Test("a threat while waiting shows agents the ticket again with its new reason, and is not counted as a second handoff")
    func threatWhileWaiting() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        let (c, told) = try server.waitingPlainCustomer(after: ["/id vip2"])
        #expect(told.contains("T000001"))
        #expect(agent.line()?.hasPrefix("* NEW T000001") == true)
        c.send("再不处理我就打12315")
        #expect(c.block()?.contains("queue_noted") == true, "the customer hears the message is with the ticket")
        let again = try #require(agent.line())
        #expect(again.hasPrefix("* NEW T000001") && again.contains(" threat "), "\(again)")
        #expect(try server.stats(agent)["containment"] as? Double == 0, "one conversation, one handoff")
    }

    @Test("a customer who comes back with the resume code from the handoff continues and sees replies sent while away")
    func reconnect() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        let told = try server.leaveWaitingReply("您好，我已处理", agent: agent) { try server.plainHandOff(after: ["/id back1"]) }
        let code = try #require(resumeCode(in: told), "the handoff tells the customer how to come back")
        let again = try TestClient(server.customer)
        again.send("/resume \(code)")
        let opening = try #require(again.block())
        #expect(opening.contains("您好，我已处理"))
        #expect(opening.contains("T000001"))
        again.send("好的谢谢")
        #expect(again.line() == "", "an agent has the case: the bot stays quiet (just the end-of-reply empty line)")
        #expect(agent.line()?.hasPrefix("* MESSAGE T000001 好的谢谢") == true, "still the same case: the agent gets the line")
    }

    @Test("an over-long line, invalid UTF-8 and binary junk get error lines and the connection keeps working")
    func badInput() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let c = try TestClient(server.customer)
        c.send(String(repeating: "长", count: 3000))
        #expect(c.block()?.contains("太长") == true)
        c.sendBytes([0xFF, 0xFE, 0x41, 0x0A])
        #expect(c.block()?.contains("无法识别") == true)
        c.sendBytes([0x00, 0x01, 0x02, 0x0A])
        #expect(c.block()?.contains("无法识别") == true)
        c.send("我要退款")
        #expect(c.block()?.contains(KnowledgeFixture.answerText) == true)
    }

    @Test("a flood of lines is rate limited with a notice")
    func flood() throws {
        let server = try RunningGateway { $0.linesPerSecond = 5; $0.burst = 5 }
        defer { server.stop() }
        let c = try TestClient(server.customer)
        c.sendBytes(Array(String(repeating: "退款\n", count: 50).utf8))
        var blocks: [String] = []
        while blocks.count < 6, let b = c.block() { blocks.append(b) }
        #expect(blocks.contains { $0.contains("太快") })
    }

    @Test("a client that reads late still gets every reply, whole and in order")
    func lateReader() throws {
        let server = try RunningGateway { $0.linesPerSecond = 100_000; $0.burst = 100_000 }
        defer { server.stop() }
        let c = try TestClient(server.customer)
        let count = 1500
        c.sendBytes(Array((0..<count).map { #"{"session":"s\#($0)","text":"我要退款"}"# + "\n" }.joined().utf8))
        Thread.sleep(forTimeInterval: 0.5)  // the replies pile up in the server meanwhile
        var sessions: [String] = []
        while sessions.count < count, let line = c.line() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            sessions.append(object["session"] as? String ?? "?")
        }
        #expect(sessions == (0..<count).map { "s\($0)" })
    }

    @Test("a client that never reads is cut off once its unread replies pass the limit; the others are still served")
    func neverReader() throws {
        let server = try RunningGateway { $0.linesPerSecond = 100_000; $0.burst = 100_000; $0.maxPendingWriteBytes = 32 * 1024 }
        defer { server.stop() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = try server.customer.sockaddr()
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(connected == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let lines = Array(String(repeating: "我要退款\n", count: 3_000).utf8)
        _ = lines.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }

        let other = try TestClient(server.customer)
        other.send("我要退款")
        #expect(other.block()?.contains(KnowledgeFixture.answerText) == true)

        // The server lets go of the never-reader (without this client reading anything).
        let a = try server.loggedInAgent()
        #expect(try server.waitForCustomers(1, asking: a) == 1, "only the client that reads is still connected")
    }

    @Test("a silent connection is said goodbye to and closed after the idle timeout")
    func idleTimeout() throws {
        let server = try RunningGateway { $0.idleTimeout = 1 }
        defer { server.stop() }
        let c = try TestClient(server.customer)
        #expect(c.block()?.contains("idle timeout") == true)
        #expect(c.isClosed())
    }

    @Test("past the connection limit a client is told to retry later and the others are still served")
    func connectionLimit() throws {
        let server = try RunningGateway { $0.maxConnections = 2 }
        defer { server.stop() }
        let one = try TestClient(server.customer), two = try TestClient(server.customer)
        one.send("我要退款")
        _ = one.block()
        let three = try TestClient(server.customer)
        #expect(three.block()?.contains("retry later") == true)
        two.send("我要退款")
        #expect(two.block()?.contains(KnowledgeFixture.answerText) == true)
    }

    @Test("STATS answers one JSON object with connections, messages and latency")
    func stats() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let c = try TestClient(server.customer)
        c.send("我要退款")
        _ = c.block()
        let a = try server.loggedInAgent()
        let object = try server.stats(a)
        #expect(object["messages"] as? Int == 1)
        #expect(object["p99_reply_ms"] != nil)
        #expect((object["connections"] as? [String: Int])?["customers"] == 1)
    }
}

/// `kefu serve` as a process: signals.
@Suite("kefu serve as a process", .serialized)
struct ServeProcessTests {
    final class Server {
        let process = Process()
        let customer: Socket.Address
        let agent: Socket.Address
        let stderr = Pipe()
        /// - Parameters:
        ///   - options: more `kefu serve` options.
        ///   - descriptorLimit: run under `ulimit -n` this low (soft and hard), as an operator might.
        ///   - environment: more environment variables (`KEFU_INTEGRATION_TOKEN` …).
        init(kb: String, data: String, options: [String] = [], descriptorLimit: Int? = nil, environment: [String: String] = [:]) throws {
            let binary = try #require(KefuProcess.binary)
            let arguments = ["serve", "--kb", kb, "--data", data, "--customer-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"] + options
            if let descriptorLimit {
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", "ulimit -n \(descriptorLimit) && exec \"$0\" \"$@\"", binary.path] + arguments
            } else {
                process.executableURL = binary
                process.arguments = arguments
            }
            if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
            let out = Pipe()
            process.standardOutput = out
            process.standardError = stderr
            try process.run()
            var text = ""
            while !text.contains("listening agent") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            func address(_ kind: String) throws -> Socket.Address {
                let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("listening \(kind)") })
                return try #require(Socket.Address(String(line.split(separator: " ")[2])))
            }
            customer = try address("customer")
            agent = try address("agent")
        }
        func errors(waitingFor text: String) -> String {
            var all = ""
            let deadline = Date().addingTimeInterval(10)
            while !all.contains(text) && Date() < deadline {
                let chunk = stderr.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                all += String(decoding: chunk, as: UTF8.self)
            }
            return all
        }
    }

    @Test("SIGHUP with a broken edit reports file:line and keeps serving; a good edit takes effect without dropping the connection")
    func reloadOnSIGHUP() throws {
        let fixture = try KnowledgeFixture.make()
        let server = try Server(kb: fixture.folder, data: Scratch.folder("hup"))
        defer { server.process.terminate(); server.process.waitUntilExit() }
        let c = try TestClient(server.customer)
        c.send("发票怎么开")
        #expect(c.block()?.contains("订单页申请") == false, "no invoice entry yet")

        let path = fixture.folder + "/FAQ/order_status/invoice.md"
        try "---\nid: invoice\ntopic: order_status\nboost: 发票 3\n---\n## Questions\n- 发票怎么开\n\n## Answers\n请在{nothere}申请。\n".write(toFile: path, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        let refused = server.errors(waitingFor: "reload refused")
        #expect(refused.contains("FAQ/order_status/invoice.md:10: unknown placeholder {nothere}"))
        c.send("我要退款")
        #expect(c.block()?.contains(KnowledgeFixture.answerText) == true, "the old knowledge base still answers")

        try KnowledgeFixture.entry("invoice", topic: "order_status", questions: ["发票怎么开", "开发票", "要发票", "电子发票", "invoice please", "发票在哪开"],
                                   answer: "发票可在{app_name}的订单页申请。", extra: "boost: 发票 3\n").write(toFile: path, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        #expect(server.errors(waitingFor: "reloaded").contains("knowledge base reloaded"))
        c.send("发票怎么开")
        #expect(c.block()?.contains("发票可在示例App的订单页申请") == true, "same connection, new knowledge base")
    }

    @Test("kefu serve creates the integration token with mode 0600 in the data folder, and an integration authenticates with it")
    func integrationTokenFile() throws {
        let fixture = try KnowledgeFixture.make()
        let data = Scratch.folder("int")
        let server = try Server(kb: fixture.folder, data: data)
        defer { server.process.terminate(); server.process.waitUntilExit() }
        let path = data + "/integration-token"
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        let token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.count == 64)
        let c = try TestClient(server.customer)
        c.send(json: ["auth": token])
        #expect(c.object()?["type"] as? String == "authenticated")
    }

    @Test("SIGTERM finishes replies in flight, says goodbye, exits 0, and every acknowledged ticket is on disk")
    func gracefulShutdown() throws {
        let fixture = try KnowledgeFixture.make()
        let data = Scratch.folder("term")
        let server = try Server(kb: fixture.folder, data: data)
        let clients = try (0..<5).map { _ in try TestClient(server.customer) }
        for (i, c) in clients.enumerated() {
            c.send("/id quitter\(i)")
            _ = c.block()
            c.send("转人工")
        }
        let told = clients.compactMap { $0.block() }.filter { $0.contains("服务单号") }.count
        #expect(told == 5)
        kill(server.process.processIdentifier, SIGTERM)
        for c in clients { #expect(c.block()?.contains("server shutting down") == true) }
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
        let store = try TicketStore(folder: data)
        #expect(store.queue().count == 5)
        #expect(store.notices.isEmpty)
    }
}
