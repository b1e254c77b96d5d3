import Foundation
import Testing
@testable import KefuCore

/// What /proc says about a child process: resident memory and CPU time used.
enum ProcessFigures {
    static func residentKiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }

    /// User plus system CPU seconds the process has used so far.
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Lowers another process's soft descriptor limit (`prlimit(2)`, which Swift's Glibc
    /// module does not export).
    static func setDescriptorLimit(_ pid: Int32, _ soft: Int) -> Bool {
        typealias Prlimit = @convention(c) (Int32, Int32, UnsafePointer<rlimit>?, UnsafeMutablePointer<rlimit>?) -> Int32
        guard let symbol = dlsym(nil, "prlimit") else { return false }
        var current = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &current) == 0 else { return false }
        var limit = rlimit(rlim_cur: rlim_t(soft), rlim_max: rlim_t(soft))
        return unsafeBitCast(symbol, to: Prlimit.self)(pid, Int32(RLIMIT_NOFILE.rawValue), &limit, nil) == 0
    }

    /// Open descriptors of the process.
    static func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }
}

extension TestClient {
    /// Sends JSON Lines messages for many sessions at once and reads one reply per message.
    func converse(sessions: Range<Int>, prefix: String, text: String) -> [[String: Any]] {
        var replies: [[String: Any]] = []
        for chunk in stride(from: sessions.lowerBound, to: sessions.upperBound, by: 200) {
            let ids = chunk..<min(chunk + 200, sessions.upperBound)
            let lines = ids.map { #"{"session":"\#(prefix)\#($0)","text":"\#(text)"}"# }.joined(separator: "\n") + "\n"
            sendBytes(Array(lines.utf8))
            for _ in ids { if let o = object() { replies.append(o) } }
        }
        return replies
    }
}

@Suite("kefu serve holds its limits", .serialized)
struct GatewayLimitsTests {
    typealias Server = ServeProcessTests.Server

    static func integration(_ server: Server, data: String) throws -> TestClient {
        let token = try String(contentsOfFile: data + "/integration-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let c = try TestClient(server.customer)
        c.send(json: ["auth": token])
        #expect(c.object()?["type"] as? String == "authenticated")
        return c
    }

    @Test("with a small cap, thousands of customers leave memory flat, and an evicted conversation resumes where it was")
    func boundedConversations() throws {
        let fixture = try KnowledgeFixture.make()
        let data = try AgentAccountFixture.add(to: RunningGateway.dataFolder())
        let server = try Server(kb: fixture.folder, data: data,
                                options: ["--max-conversations", "100", "--max-sessions", "20000", "--rate", "100000"])
        defer { server.process.terminate(); server.process.waitUntilExit() }
        let pid = server.process.processIdentifier
        let c = try Self.integration(server, data: data)
        c.send(json: ["session": "keep", "text": "我要退款"])
        #expect(c.object()?["topic"] as? String == "return_refund")

        _ = c.converse(sessions: 0..<1500, prefix: "warm", text: "我要退款")
        _ = c.converse(sessions: 0..<1500, prefix: "warm", text: "快递到哪了")
        let before = ProcessFigures.residentKiB(pid)
        let answered = c.converse(sessions: 0..<3000, prefix: "more", text: "我要退款").count
            + c.converse(sessions: 0..<3000, prefix: "more", text: "快递到哪了").count
        #expect(answered == 6000)
        let after = ProcessFigures.residentKiB(pid)
        // Unbounded, 3,000 conversations of two exchanges held about 3 KiB each (9 MiB).
        #expect(after - before < 4 * 1024, "RSS grew from \(before) KiB to \(after) KiB")

        c.send(json: ["session": "keep", "text": "我要退款"])
        let again = try #require(c.object())
        #expect((again["text"] as? String)?.contains("already_answered") == true,
                "the conversation came back from disk knowing what it had answered: \(again)")
        let agent = try TestClient(server.agent)
        agent.send("AUTH 张三 \(AgentAccountFixture.password(for: "张三"))")
        #expect(agent.line() == "OK welcome 张三")
        agent.send("STATS")
        let stats = try #require(agent.line().flatMap { try JSONSerialization.jsonObject(with: Data($0.dropFirst(3).utf8)) as? [String: Any] })
        #expect((stats["conversations_live"] as? Int ?? .max) <= 100)
        #expect((stats["evictions"] as? Int ?? 0) >= 4000)
        #expect((stats["restored"] as? Int ?? 0) >= 1)
    }
}

@Suite("The gateway's connection limits", .serialized)
struct GatewayConnectionLimitTests {
    @Test("a line that never ends is told and closed after the line timeout, though every byte arrives")
    func lineDeadline() throws {
        let server = try RunningGateway { $0.lineTimeout = 1 }
        defer { server.stop() }
        let slow = try TestClient(server.customer)
        let other = try TestClient(server.customer)
        for byte in "我要退".utf8.prefix(6) {
            slow.sendBytes([byte])
            Thread.sleep(forTimeInterval: 0.25)
        }
        let told = try #require(slow.block())
        #expect(told.contains("line not finished within 1 seconds"))
        #expect(slow.isClosed())
        other.send("我要退款")
        #expect(other.block()?.contains(KnowledgeFixture.answerText) == true, "complete lines are not affected")
    }

    @Test("one JSON connection holds at most --max-sessions sessions; a new one beyond gets an error, the others are still served")
    func sessionsPerConnection() throws {
        let server = try RunningGateway { $0.conversations.maxSessionsPerConnection = 3 }
        defer { server.stop() }
        let c = try TestClient(server.customer)
        for i in 0..<3 {
            c.send(json: ["session": "s\(i)", "text": "我要退款"])
            #expect(c.object()?["route"] as? String == "answer")
        }
        c.send(json: ["session": "s3", "text": "我要退款"])
        let refused = try #require(c.object())
        #expect(refused["session"] as? String == "s3")
        #expect((refused["error"] as? String)?.contains("already holds 3 sessions") == true)
        c.send(json: ["session": "s1", "text": "快递到哪了"])
        #expect(c.object()?["session"] as? String == "s1")
        let other = try TestClient(server.customer)
        other.send(json: ["session": "s3", "text": "我要退款"])
        #expect(other.object()?["route"] as? String == "answer", "another connection has places of its own")
    }

    @Test("customers who fill the server never take the agents' slots")
    func agentSlots() throws {
        let server = try RunningGateway {
            $0.maxConnections = 2
            $0.agentSlots = 2
        }
        defer { server.stop() }
        let customers = try (0..<2).map { _ in try TestClient(server.customer) }
        for c in customers {
            c.send("我要退款")
            #expect(c.block()?.contains(KnowledgeFixture.answerText) == true)
        }
        let third = try TestClient(server.customer)
        #expect(third.block()?.contains("server busy") == true)
        let first = try server.loggedInAgent("张三")
        let second = try server.loggedInAgent("李四")
        #expect(try server.stats(first)["connections"] as? [String: Int] == ["customers": 2, "agents": 2])
        _ = second
    }

    @Test("the connection cap follows ulimit -n; out of descriptors the server refuses politely without spinning, and agents still log in")
    func descriptorsExhausted() throws {
        let fixture = try KnowledgeFixture.make()
        let data = try AgentAccountFixture.add(to: RunningGateway.dataFolder())
        let server = try ServeProcessTests.Server(kb: fixture.folder, data: data, descriptorLimit: 120)
        defer { server.process.terminate(); server.process.waitUntilExit() }
        let pid = server.process.processIdentifier
        #expect(server.errors(waitingFor: "connections: up to").contains("descriptors: limit 120 (hard 120); connections: up to 28 customers, 28 more kept for agents"))

        // Within the budget: customers past it are told, agents are not.
        let customers = try (0..<28).map { _ in try TestClient(server.customer) }
        for c in customers.prefix(3) {
            c.send("我要退款")
            #expect(c.block()?.contains(KnowledgeFixture.answerText) == true)
        }
        let extra = try TestClient(server.customer)
        #expect(extra.block()?.contains("server busy") == true)
        let agent = try TestClient(server.agent)
        agent.send("AUTH 张三 \(AgentAccountFixture.password(for: "张三"))")
        #expect(agent.line() == "OK welcome 张三")

        // Past the budget: the descriptor limit itself is lowered under the running server.
        // Below the descriptors in use: every new one fails until some are closed.
        #expect(ProcessFigures.setDescriptorLimit(pid, 40))
        let refused = try (0..<5).map { _ in try TestClient(server.customer) }
        #expect(refused.compactMap { $0.block() }.filter { $0.contains("out of file descriptors") }.count == 5)
        let cpuBefore = ProcessFigures.cpuSeconds(pid)
        let waiting = try (0..<5).map { _ in try TestClient(server.customer) }
        Thread.sleep(forTimeInterval: 2)
        let used = ProcessFigures.cpuSeconds(pid) - cpuBefore
        #expect(used < 0.5, "a server out of descriptors spent \(used) s of CPU in 2 s")
        #expect(server.errors(waitingFor: "cannot accept").contains("raise `ulimit -n`"))
        _ = waiting
        agent.send("STATS")
        #expect(agent.line()?.contains("\"accept_failures\"") == true, "the server still serves its agents")
        withExtendedLifetime(customers) {}  // their descriptors stay taken throughout
    }
}

@Suite("Idle conversations end", .serialized)
struct IdleConversationTests {
    @Test("a conversation silent past the horizon ends with its end event recorded, and its session frees its place on the connection")
    func idleHorizon() throws {
        let server = try RunningGateway {
            $0.conversations.idleHorizon = 1
            $0.conversations.maxSessionsPerConnection = 1
        }
        let c = try TestClient(server.customer)
        c.send(json: ["session": "s0", "text": "我要退款"])
        #expect(c.object()?["route"] as? String == "answer")
        c.send(json: ["session": "s1", "text": "我要退款"])
        #expect(c.object()?["error"] != nil, "one session at a time on this connection")
        let agent = try server.loggedInAgent()
        var ended = 0
        for _ in 0..<50 where ended == 0 {
            Thread.sleep(forTimeInterval: 0.1)
            ended = try server.stats(agent)["ended_idle"] as? Int ?? 0
        }
        #expect(ended == 1)
        c.send(json: ["session": "s1", "text": "我要退款"])
        #expect(c.object()?["route"] as? String == "answer", "the ended session's place is free again")
        server.stop()
        let (events, _) = try EventLog.read(folder: server.desk.folder)
        let end = events.first { $0.kind == .conversationEnd }
        #expect(end?.reason == .idle)
        #expect(end?.handedOff == false)
    }
}
