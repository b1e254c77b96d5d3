import Foundation
import Testing
@testable import KefuCore

/// `kefu serve --webhook`: events posted to receivers over loopback, signed, in order, from a
/// durable outbox that outlives a receiver that is down and a restart of the server.
@Suite("Webhooks from the gateway")
struct WebhookDeliveryTests {
    let secret = "test-webhook-secret-\(UUID().uuidString)"

    /// Whether a request's signature is the HMAC-SHA256 of its timestamp, a dot and its body.
    func verifies(_ request: WebhookReceiver.Request) -> Bool {
        guard let timestamp = request.headers["x-kefu-timestamp"], let signature = request.headers["x-kefu-signature"] else { return false }
        let expected = HMACSHA256.authenticationCode(for: Array("\(timestamp).".utf8) + request.body, key: Array(secret.utf8))
        return signature == "sha256=" + Hex.encode(expected)
    }

    /// A customer hands off, an agent claims, replies and resolves, and the customer rates.
    func serveOneCase(_ server: RunningGateway, agent: TestClient, reply: String = "您好，我来帮您") throws {
        let c = try TestClient(server.customer)
        c.send("/id vip1")
        _ = c.block()
        c.send("转人工")
        #expect(c.block()?.contains("T000001") == true)
        #expect(agent.line()?.hasPrefix("* NEW T000001") == true)
        agent.send("CLAIM T000001")
        #expect(agent.line() == "OK T000001 claimed")
        #expect(c.block()?.contains("已接入") == true)
        agent.send("REPLY T000001 \(reply)")
        #expect(agent.line() == "OK delivered")
        _ = c.block()
        agent.send("RESOLVE T000001 done")
        #expect(agent.line() == "OK T000001 resolved")
        #expect(c.block()?.contains("评分") == true)
        c.send("5")
        #expect(c.block()?.contains("评分已记录") == true)
    }

    @Test("each event of a case is posted once, in order, with the documented headers and a signature that verifies")
    func signedEventsInOrder() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let server = try RunningGateway(webhooks: [receiver.url], secret: secret)
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        try serveOneCase(server, agent: agent, reply: "请拨打13812345678联系我们")

        let got = receiver.waitForAcknowledged(5)
        #expect(got.map(\.event) == ["handoff", "agent_joined", "agent_reply", "resolved", "rating"])
        #expect(Set(got.compactMap(\.id)).count == 5, "every delivery has its own id")
        for request in got {
            #expect(request.method == "POST")
            #expect(request.path == "/hooks/kefu?source=test")
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.headers["x-kefu-event"] == request.event)
            #expect(request.headers["x-kefu-delivery"] == request.id)
            let timestamp = try #require(request.headers["x-kefu-timestamp"].flatMap { Int($0) })
            #expect(abs(Double(timestamp) - Date().timeIntervalSince1970) < 120)
            #expect(verifies(request), "signature over timestamp.body with the secret")
            #expect(request.json["ticket"] as? String == "T000001")
            #expect(request.json["time"] as? String != nil)
            #expect((request.json["customer"] as? String)?.hasSuffix(":vip1") == true)
        }
        let handoff = try #require(got.first?.json)
        #expect(handoff["reason"] as? String != nil)
        #expect(handoff["priority"] as? Int != nil)
        #expect(handoff["channel"] as? String != nil)
        #expect(got[1].json["agent"] as? String == "张三")
        #expect(got[2].json["text"] as? String == "请拨打138****5678联系我们", "numbers masked: the receiver does not hold the case")
        #expect(!String(decoding: got[2].body, as: UTF8.self).contains("13812345678"))
        #expect(got[4].json["rating"] as? Int == 5)

        // A body changed in transit, or another secret, does not verify.
        var tampered = got[0]
        tampered = WebhookReceiver.Request(method: tampered.method, path: tampered.path, headers: tampered.headers,
                                           body: Array(String(decoding: tampered.body, as: UTF8.self).replacingOccurrences(of: "T000001", with: "T000002").utf8),
                                           status: tampered.status)
        #expect(!verifies(tampered))

        let figures = try server.waitForStats(asking: agent) { $0["webhooks_pending"] as? Int == 0 }
        #expect(figures["webhooks_pending"] as? Int == 0)
        #expect(figures["webhooks_failed_urls"] as? Int == 0)
    }

    @Test("the handoff's webhook is on disk by the time the customer is told about the handoff")
    func handoffDurableBeforeReply() throws {
        let port = try WebhookReceiver.closedPort()
        let folder = RunningGateway.dataFolder()
        let server = try RunningGateway(folder: folder, webhooks: ["http://127.0.0.1:\(port)/hook"], secret: secret)
        defer { server.stop() }
        _ = try server.plainHandOff()
        let journal = try String(contentsOfFile: folder + "/" + WebhookOutbox.fileName, encoding: .utf8)
        #expect(journal.contains(#""event":"handoff""#))
        #expect(journal.contains(#"\"ticket\":\"T000001\""#))
    }

    @Test("a receiver that is down for a while, then up, gets every delivery, in order, each acknowledged once")
    func receiverDownThenUp() throws {
        let port = try WebhookReceiver.closedPort()
        let url = "http://127.0.0.1:\(port)/hook"
        let server = try RunningGateway(webhooks: [url], secret: secret)
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        try serveOneCase(server, agent: agent)
        let failing = try server.waitForStats(asking: agent) { $0["webhooks_failed_urls"] as? Int == 1 }
        #expect(failing["webhooks_failed_urls"] as? Int == 1, "the URL is reported failing")
        #expect(failing["webhooks_pending"] as? Int == 5, "nothing dropped")

        let receiver = try WebhookReceiver(port: port)
        defer { receiver.stop() }
        let got = receiver.waitForAcknowledged(5)
        #expect(got.map(\.event) == ["handoff", "agent_joined", "agent_reply", "resolved", "rating"])
        #expect(Set(got.compactMap(\.id)).count == got.count, "no delivery acknowledged twice")
        #expect(got.allSatisfy(verifies))
        let recovered = try server.waitForStats(asking: agent) { $0["webhooks_pending"] as? Int == 0 && $0["webhooks_failed_urls"] as? Int == 0 }
        #expect(recovered["webhooks_pending"] as? Int == 0)
        #expect(recovered["webhooks_failed_urls"] as? Int == 0)
        #expect(receiver.requests.count == 5, "no attempt reached the receiver while it was down")
    }

    @Test("a 500 or a 404 is retried until a 2xx; the delivery keeps its id and body, and nothing newer overtakes it")
    func errorsAreRetried() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        receiver.answerNext([500, 404, 503])
        let server = try RunningGateway(webhooks: [receiver.url], secret: secret)
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        _ = try server.plainHandOff()
        #expect(agent.line()?.hasPrefix("* NEW T000001") == true)
        agent.send("CLAIM T000001")
        #expect(agent.line() == "OK T000001 claimed")

        let got = receiver.waitForAcknowledged(2)
        #expect(got.map(\.event) == ["handoff", "agent_joined"])
        let all = receiver.requests
        #expect(all.count == 5)
        #expect(all.prefix(4).allSatisfy { $0.id == got[0].id && $0.body == got[0].body }, "the handoff, attempted until acknowledged, before the claim")
        #expect(all.allSatisfy(verifies), "each attempt signed with its own timestamp")
    }

    @Test("deliveries queued while the receiver is down survive a restart of the server and are delivered by the next one")
    func outboxSurvivesRestart() throws {
        let port = try WebhookReceiver.closedPort()
        let url = "http://127.0.0.1:\(port)/hook"
        let folder = RunningGateway.dataFolder()
        do {
            let first = try RunningGateway(folder: folder, webhooks: [url], secret: secret)
            let agent = try first.loggedInAgent()
            _ = try first.plainHandOff()
            #expect(agent.line()?.hasPrefix("* NEW T000001") == true)
            agent.send("CLAIM T000001")
            #expect(agent.line() == "OK T000001 claimed")
            let figures = try first.waitForStats(asking: agent) { $0["webhooks_failed_urls"] as? Int == 1 }
            #expect(figures["webhooks_pending"] as? Int == 2)
            first.stop()
        }
        let receiver = try WebhookReceiver(port: port)
        defer { receiver.stop() }
        let second = try RunningGateway(folder: folder, webhooks: [url], secret: secret)
        defer { second.stop() }
        let got = receiver.waitForAcknowledged(2)
        #expect(got.map(\.event) == ["handoff", "agent_joined"])
        #expect(got.allSatisfy(verifies))
        let agent = try second.loggedInAgent()
        let figures = try second.waitForStats(asking: agent) { $0["webhooks_pending"] as? Int == 0 }
        #expect(figures["webhooks_pending"] as? Int == 0)
    }

    @Test("every URL gets every event; one that is down does not hold back the other")
    func severalReceivers() throws {
        let up = try WebhookReceiver()
        defer { up.stop() }
        let downPort = try WebhookReceiver.closedPort()
        let server = try RunningGateway(webhooks: [up.url, "http://127.0.0.1:\(downPort)/"], secret: secret)
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        _ = try server.plainHandOff()
        #expect(agent.line()?.hasPrefix("* NEW T000001") == true)
        let got = up.waitForAcknowledged(1)
        #expect(got.map(\.event) == ["handoff"])
        // The receiver's answer and the outbox's note of it are a moment apart: wait for both.
        let figures = try server.waitForStats(asking: agent) { $0["webhooks_failed_urls"] as? Int == 1 && $0["webhooks_pending"] as? Int == 1 }
        #expect(figures["webhooks_pending"] as? Int == 1, "the down receiver's copy waits")
        let late = try WebhookReceiver(port: downPort)
        defer { late.stop() }
        let lateGot = late.waitForAcknowledged(1)
        #expect(lateGot.map(\.event) == ["handoff"])
        #expect(lateGot.first?.id != got.first?.id, "one delivery, with its own id, per URL")
        #expect(lateGot.first?.json["ticket"] as? String == "T000001")
    }
}
