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
