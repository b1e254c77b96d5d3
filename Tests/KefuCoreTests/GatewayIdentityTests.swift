import Foundation
import Testing
@testable import KefuCore

/// Whose conversation a customer connection reaches: anonymous customers never inherit each
/// other's cases, a name is only a label, and only a resume code or the integration token
/// reaches a customer's waiting agent replies.
@Suite("Customer identity on the gateway", .serialized)
struct GatewayIdentityTests {
    static let secret = "您的卡号 6222021234567890123 已冻结"

    @Test("after a restart a new anonymous customer does not get the previous anonymous customer's waiting reply")
    func anonymousCustomersAfterRestart() throws {
        let folder = RunningGateway.dataFolder()
        do {
            let server = try RunningGateway(folder: folder)
            defer { server.stop() }
            let agent = try server.loggedInAgent()  // connects first, as it did in the report
            try server.leaveWaitingReply(Self.secret, agent: agent) { try server.plainHandOff() }
        }
        let server = try RunningGateway(folder: folder)
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        let newcomer = try TestClient(server.customer)
        newcomer.send("你好")
        let reply = try #require(newcomer.block())
        #expect(!reply.contains("6222"), "someone else's agent reply")
        #expect(!reply.contains("T000001"), "someone else's ticket")
        _ = agent
    }

    @Test("/id after the first line is refused and changes nothing")
    func idOnlyAsFirstLine() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        try server.leaveWaitingReply(Self.secret, agent: agent) { try server.plainHandOff(after: ["/id 张三"]) }
        let c = try TestClient(server.customer)
        c.send("我要退款")
        _ = c.block()
        c.send("/id 张三")
        let refused = try #require(c.block())
        #expect(refused.contains("first line"))
        #expect(!refused.contains("6222"))
        c.send("/resume 0123456789ABCDEFGHJKMNPQRS")
        #expect(c.block()?.contains("first line") == true)
        c.send("你好")
        let reply = try #require(c.block())
        #expect(!reply.contains("6222") && !reply.contains("T000001"))
    }

    @Test("/id NAME is only a label: NAME's waiting reply needs NAME's resume code, and a wrong code starts afresh")
    func labelNeedsResumeCode() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        let told = try server.leaveWaitingReply(Self.secret, agent: agent) { try server.plainHandOff(after: ["/id 张三"]) }
        let code = try #require(resumeCode(in: told))

        let namesake = try TestClient(server.customer)
        namesake.send("/id 张三")
        let opening = try #require(namesake.block())
        #expect(!opening.contains("6222") && !opening.contains("T000001"))
        namesake.send("你好")
        #expect(namesake.block().map { !$0.contains("6222") && !$0.contains("T000001") } == true)

        let guesser = try TestClient(server.customer)
        guesser.send("/resume \(String(code.reversed()))")
        let refused = try #require(guesser.block())
        #expect(refused.contains("resume code"))
        #expect(!refused.contains("6222") && !refused.contains("T000001"))
        guesser.send("你好")
        #expect(guesser.block().map { !$0.contains("6222") && !$0.contains("T000001") } == true, "a fresh conversation")

        let owner = try TestClient(server.customer)
        owner.send("/resume \(code.lowercased())")  // typed by hand
        let back = try #require(owner.block())
        #expect(back.contains(Self.secret))
        #expect(back.contains("T000001"))
    }

    @Test("without the integration token a JSON customer name is scoped to its connection and reaches no one else's case")
    func jsonCustomerWithoutToken() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        try server.leaveWaitingReply(Self.secret, agent: agent) {
            let integration = try server.integration()
            integration.send(json: ["session": "w1", "customer": "13800001234", "text": "转人工"])
            let told = try #require(integration.object())
            #expect(told["ticket"] as? String == "T000001")
            #expect(told["customer"] as? String == "13800001234")
            #expect(told["resume_code"] == nil, "the integration names its customer; no code needed")
            return told["text"] as? String ?? ""
        }
        try server.leaveWaitingReply("匿名客户的答复", ticket: "T000002", agent: agent) { try server.plainHandOff() }
        let plainKey = try #require(try server.desk.tickets.ticket("T000002")?.customer)

        let spoofer = try TestClient(server.customer)
        for (session, name) in [("x1", "13800001234"), ("x2", plainKey)] {
            spoofer.send(json: ["session": session, "customer": name])
            let opening = try #require(spoofer.object())
            #expect(opening["customer"] as? String == name)
            #expect(opening["ticket"] == nil)
            spoofer.send(json: ["session": session, "customer": name, "text": "你好"])
            let reply = try #require(spoofer.object())
            let text = try #require(reply["text"] as? String)
            #expect(!text.contains("6222") && !text.contains("匿名客户的答复") && !text.contains("T00000"), "\(name) is someone else")
        }
        #expect(try server.desk.tickets.ticket("T000001")?.deliveredReplies == 0)
        #expect(try server.desk.tickets.ticket("T000002")?.deliveredReplies == 0)

        let trusted = try server.integration()
        trusted.send(json: ["session": "w2", "customer": "13800001234"])
        let back = try #require(trusted.object())
        #expect((back["text"] as? String)?.contains(Self.secret) == true, "the integration vouches for its customer")
        #expect(back["ticket"] as? String == "T000001")
    }

    @Test("a wrong integration token is refused and the connection closed; auth is only a first line")
    func integrationAuthentication() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let wrong = try TestClient(server.customer)
        wrong.send(json: ["auth": "guess"])
        #expect((wrong.object()?["error"] as? String)?.contains("integration token") == true)
        #expect(wrong.isClosed())

        let late = try TestClient(server.customer)
        late.send(json: ["session": "s1", "text": "我要退款"])
        _ = late.object()
        late.send(json: ["auth": server.integrationToken])
        #expect((late.object()?["error"] as? String)?.contains("first line") == true)
    }

    @Test("a customer or session id longer than 64 characters or with control characters is refused with a clear error")
    func customerIDLimits() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let plain = try TestClient(server.customer)
        for bad in [String(repeating: "客", count: 65), "a\tb", "a\u{202E}b", "a\u{85}b"] {
            plain.send("/id \(bad)")
            let refused = try #require(plain.block())
            #expect(refused.contains("64"), "\(bad.debugDescription)")
        }
        plain.send("/id \(String(repeating: "客", count: 64))")
        #expect(plain.block()?.contains("您好") == true, "a refused /id does not use up the first line")

        let json = try TestClient(server.customer)
        for (session, customer) in [("s1", "a\nb"), ("s1", String(repeating: "x", count: 65)), ("s\u{1B}[2J", "c1")] {
            json.send(json: ["session": session, "customer": customer, "text": "我要退款"])
            let error = try #require(json.object()?["error"] as? String)
            #expect(error.contains("64 printable characters"))
        }
        json.send(json: ["session": "s1", "customer": "c1", "text": "我要退款"])
        #expect(json.object()?["route"] as? String == "answer")
    }
}

extension GatewayIdentityTests {
    @Test("an unauthenticated JSON session is given a resume code at handoff and comes back with it on another connection")
    func jsonResume() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        var code = ""
        try server.leaveWaitingReply(Self.secret, agent: agent) {
            let web = try TestClient(server.customer)
            web.send(json: ["session": "s1", "customer": "u1", "text": "转人工"])
            let told = try #require(web.object())
            code = try #require(told["resume_code"] as? String)
            #expect((told["text"] as? String)?.contains(code) == false, "a field for the integration to show, not part of the text")
            return told["text"] as? String ?? ""
        }
        let web = try TestClient(server.customer)
        web.send(json: ["session": "s9", "customer": "u1", "resume": "WRONG"])
        #expect((web.object()?["error"] as? String)?.contains("resume code") == true)
        web.send(json: ["session": "s9", "customer": "u1", "text": "你好"])
        #expect((web.object()?["text"] as? String)?.contains("6222") == false, "u1 here is this connection's own u1")
        web.send(json: ["session": "s8", "resume": code])
        let back = try #require(web.object())
        #expect((back["text"] as? String)?.contains(Self.secret) == true)
        #expect(back["session"] as? String == "s8")
        web.send(json: ["session": "s8", "text": "谢谢"])
        #expect(agent.line()?.hasPrefix("* MESSAGE T000001 谢谢") == true, "the session goes on speaking for the resumed case (the bot stays quiet while the agent has it)")
    }
}
