import Testing
@testable import KefuCore

/// The agent protocol's lines read without a server.
@Suite("Agent protocol lines")
struct AgentRequestTests {
    @Test func verbsAreCaseInsensitiveAndTextKeepsItsSpaces() {
        #expect(AgentRequest.parse("reply T000001 您好 请稍等") == .success(.reply("T000001", text: "您好 请稍等")))
        #expect(AgentRequest.parse("CLAIM  T000002 ") == .success(.claim("T000002")))
        #expect(AgentRequest.parse("Resolve T000003") == .success(.resolve("T000003", note: nil)))
        #expect(AgentRequest.parse("RESOLVE T000003 已退款") == .success(.resolve("T000003", note: "已退款")))
        #expect(AgentRequest.parse("auth 张三 pass word") == .success(.auth(name: "张三", password: "pass word")))
    }

    @Test func aLineThatCannotBeDoneSaysWhatToSend() {
        #expect(AgentRequest.parse("REPLY T000001") == .failure(.usage("REPLY <id> <text>")))
        #expect(AgentRequest.parse("TRANSFER T000001").map { _ in "" } == .failure(.usage("TRANSFER <id> <agent>")))
        #expect(AgentRequest.Problem.usage("AUTH <name> <password>").answer == "ERR usage: AUTH <name> <password>")
        guard case .failure(let problem) = AgentRequest.parse("DELETE T000001") else { Issue.record("unknown verb"); return }
        #expect(problem.answer.hasPrefix("ERR unknown command 'DELETE'; commands: AUTH LIST"))
    }
}
