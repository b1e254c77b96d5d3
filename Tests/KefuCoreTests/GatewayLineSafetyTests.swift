import Foundation
import Testing
@testable import KefuCore

/// What customers and agents send cannot break the other side's lines, and their numbers are masked
/// where they are stored: through the running gateway, end to end.
@Suite("The gateway's lines and logs", .serialized)
struct GatewayLineSafetyTests {
    static func json(_ object: [String: String]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// No line break or control character of any kind, raw.
    static func isClean(_ line: String) -> Bool {
        !line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029 }
    }

    @Test("a JSON customer's id and text holding \\r, U+2028, U+0085, NUL or \\n reach the agent as one clean line each")
    func customerControlsDoNotReachAgents() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        let c = try TestClient(server.customer)
        c.send(Self.json(["session": "s1", "customer": "c1\r\u{2028}\u{85}\n* NEW T999999 0 requested 假工单", "text": "转人工"]))
        #expect(c.object()?["error"] != nil, "a customer id with control characters is refused")
        let customer = "c1"
        c.send(Self.json(["session": "s1", "customer": customer, "text": "转人工\r\u{2028}* NEW T999999 0 requested 假工单"]))
        _ = try #require(c.line())
        let pushed = try #require(agent.line())
        #expect(pushed.hasPrefix("* NEW T000001 "))
        #expect(Self.isClean(pushed), "\(pushed.debugDescription)")
        agent.send("LIST")
        #expect(agent.line() == "OK 1", "no line slipped in before the answer")
        let listed = try #require(agent.line())
        #expect(Self.isClean(listed), "\(listed.debugDescription)")
        #expect(agent.line() == ".")
        agent.send("CLAIM T000001")
        #expect(agent.line() == "OK T000001 claimed")
        _ = c.line()  // the agent joined
        c.send(Self.json(["session": "s1", "customer": customer, "text": "好的\r谢谢\u{2028}再见\u{85}了\u{0}吗"]))
        #expect(agent.line() == "* MESSAGE T000001 好的 谢谢 再见 了吗")
    }

    @Test("an agent's reply holding U+2028 or U+0085 reaches a plain and a JSON customer as one clean line")
    func agentControlsDoNotReachCustomers() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        let plain = try TestClient(server.customer)
        plain.send("/id p1")
        _ = plain.block()
        plain.send("转人工")
        _ = plain.block()
        _ = agent.line()
        agent.send("CLAIM T000001")
        #expect(agent.line() == "OK T000001 claimed")
        _ = plain.block()
        agent.send("REPLY T000001 第一行\u{2028}第二行\u{85}第三行")
        #expect(agent.line() == "OK delivered")
        #expect(plain.block() == "[人工客服 张三] 第一行 第二行 第三行")

        let web = try TestClient(server.customer)
        web.send(Self.json(["session": "s2", "customer": "j1", "text": "转人工"]))
        _ = web.line()
        _ = agent.line()
        agent.send("CLAIM T000002")
        #expect(agent.line() == "OK T000002 claimed")
        _ = web.line()
        agent.send("REPLY T000002 您好\u{2028}已处理\u{85}请查收")
        #expect(agent.line() == "OK delivered")
        let line = try #require(web.line())
        #expect(Self.isClean(line), "\(line.debugDescription)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["text"] as? String == "[人工客服 张三] 您好 已处理 请查收")
    }

    @Test("customer ids and messages with glued, dotted or full-width numbers are masked in events.log")
    func customerIDsMaskedInEventLog() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let plain = try TestClient(server.customer)
        plain.send("/id tel13900001111")
        _ = plain.block()
        plain.send("我的手机是138.1234.5678")
        _ = plain.block()
        let web = try TestClient(server.customer)
        web.send(Self.json(["session": "s3", "customer": "１３８．１２３４．５６７８", "text": "卡号card6228480012345671"]))
        _ = web.line()
        // Each reply is sent only after its batch's events are synced.
        let raw = try String(contentsOfFile: server.desk.folder + "/events.log", encoding: .utf8)
        for leaked in ["13900001111", "1234.5678", "１２３４", "6228480012345671"] {
            #expect(!raw.contains(leaked), "\(leaked) in events.log")
        }
        let (events, _) = try EventLog.read(folder: server.desk.folder)
        // Keys carry where the customer came from (`anon:…:`, `conn:…:`); the names in them are masked.
        let names = Set(events.compactMap(\.customer).map { $0.split(separator: ":").last.map(String.init) ?? $0 })
        #expect(names == ["tel139****1111", "138****5678"])
        #expect(events.contains { $0.text == "我的手机是138****5678" })
        #expect(events.contains { $0.text == "卡号card6228 **** **** 5671" })
    }
}
