import Foundation
import Testing
@testable import KefuCore

/// The webhook outbox on its own: what replaying `webhooks.journal` gives back.
@Suite("Webhook outbox")
struct WebhookOutboxTests {
    let url = "http://127.0.0.1:9/hook"

    func event(_ kind: WebhookEvent.Kind, ticket: String = "T000001") -> WebhookEvent {
        var e = WebhookEvent(kind: kind, time: Date(timeIntervalSince1970: 1_700_000_000), ticket: ticket)
        e.customer = "int:13812345678"
        e.text = "卡号6222021234567890123"
        return e
    }

    func ids(_ outbox: WebhookOutbox, _ url: String) -> [String] { outbox.waiting()[url]?.map(\.id) ?? [] }

    @Test("deliveries are not visible before they are written; after a restart the ones not acknowledged come back, in order")
    func replay() throws {
        let folder = Scratch.folder("outbox")
        let outbox = try WebhookOutbox(folder: folder, urls: [url, url])
        #expect(outbox.urls == [url], "a URL given twice gets one delivery")
        for kind in [WebhookEvent.Kind.handoff, .agentJoined, .agentReply] { outbox.enqueue(event(kind)) }
        #expect(outbox.waiting().isEmpty, "nothing is sent before it is on disk")
        #expect(outbox.pendingCount == 3)
        try outbox.commit()
        let written = ids(outbox, url)
        #expect(written.count == 3)
        #expect(outbox.waiting()[url]?.map(\.event) == ["handoff", "agent_joined", "agent_reply"])
        try outbox.acknowledge(try #require(outbox.waiting()[url]?.first))
        #expect(ids(outbox, url) == Array(written.dropFirst()))

        let again = try WebhookOutbox(folder: folder, urls: [url])
        #expect(again.notices.isEmpty)
        #expect(ids(again, url) == Array(written.dropFirst()))
        #expect(again.waiting()[url]?.first?.body == outbox.waiting()[url]?.first?.body, "the body is sent the same on every attempt")
    }

    @Test("the body carries the event's fields with the customer's numbers masked")
    func body() throws {
        let outbox = try WebhookOutbox(folder: Scratch.folder("outbox"), urls: [url])
        var e = event(.rating)
        e.rating = 4
        e.priority = 2
        outbox.enqueue(e)
        try outbox.commit()
        let delivery = try #require(outbox.waiting()[url]?.first)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
        #expect(json["id"] as? String == delivery.id)
        #expect(json["event"] as? String == "rating")
        #expect(json["time"] as? String == "2023-11-14T22:13:20.000Z")
        #expect(json["ticket"] as? String == "T000001")
        #expect(json["customer"] as? String == "int:138****5678")
        #expect(json["text"] as? String == "卡号6222 **** **** 0123")
        #expect(json["rating"] as? Int == 4)
        #expect(json["priority"] as? Int == 2)
        #expect(json["agent"] == nil, "fields that do not apply are left out")
    }

    @Test("a damaged record is skipped with a notice, and the records after it still count; a torn last record is cut")
    func damagedRecord() throws {
        let folder = Scratch.folder("outbox")
        let outbox = try WebhookOutbox(folder: folder, urls: [url])
        for n in 1...3 {
            outbox.enqueue(event(.handoff, ticket: "T00000\(n)"))
            try outbox.commit()
        }
        let written = ids(outbox, url)
        let path = folder + "/" + WebhookOutbox.fileName
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[1] = lines[1].replacingOccurrences(of: "T000002", with: "T000009")  // the checksum no longer matches
        try (lines.joined(separator: "\n") + "{\"op\":\"do").write(toFile: path, atomically: false, encoding: .utf8)

        let again = try WebhookOutbox(folder: folder, urls: [url])
        #expect(again.notices.count == 2)
        #expect(again.notices.contains { $0.line == 2 && $0.message.contains("checksum") })
        #expect(again.notices.contains { $0.message.contains("incomplete last record") })
        #expect(ids(again, url) == [written[0], written[2]])
        again.enqueue(event(.resolved))
        try again.commit()
        #expect(try WebhookOutbox(folder: folder, urls: [url]).waiting()[url]?.count == 3, "appends after the cut are clean")
    }

    @Test("the file is rewritten once everything is acknowledged; deliveries for a URL no longer given are kept, not sent")
    func compaction() throws {
        let folder = Scratch.folder("outbox")
        let path = folder + "/" + WebhookOutbox.fileName
        let other = "http://127.0.0.1:9/other"
        do {
            let old = try WebhookOutbox(folder: folder, urls: [other])
            old.enqueue(event(.handoff, ticket: "T000007"))
            try old.commit()
        }
        let outbox = try WebhookOutbox(folder: folder, urls: [url], compactionBytes: 0)
        #expect(outbox.waiting()[other]?.count == 1, "kept for when the URL is given again")
        for n in 1...4 { outbox.enqueue(event(.agentReply, ticket: "T00000\(n)")) }
        try outbox.commit()
        while let next = outbox.waiting()[url]?.first { try outbox.acknowledge(next) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 1, "only the other URL's delivery is left in the file")
        #expect(text.contains("T000007"))
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))

        let back = try WebhookOutbox(folder: folder, urls: [other], compactionBytes: 0)
        #expect(back.notices.isEmpty)
        try back.acknowledge(try #require(back.waiting()[other]?.first))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty, "everything acknowledged: an empty file")
        back.enqueue(event(.resolved))
        try back.commit()
        #expect(try WebhookOutbox(folder: folder, urls: [other]).waiting()[other]?.map(\.event) == ["resolved"],
                "the rewritten file takes appends")
    }

    @Test("a sender waiting for deliveries wakes when a batch is written and returns nil once stopped")
    func waiting() throws {
        let outbox = try WebhookOutbox(folder: Scratch.folder("outbox"), urls: [url])
        let got = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var seen: [String] = []
        let thread = Thread {
            while let d = outbox.next(for: "http://127.0.0.1:9/hook") {
                seen.append(d.event)
                try? outbox.acknowledge(d)
                got.signal()
            }
            got.signal()
        }
        thread.start()
        outbox.enqueue(event(.handoff))
        try outbox.commit()
        #expect(got.wait(timeout: .now() + 10) == .success)
        outbox.stopSending()
        #expect(got.wait(timeout: .now() + 10) == .success)
        #expect(seen == ["handoff"])
        #expect(!outbox.pause(until: Date().addingTimeInterval(60)), "a back-off ends at once when stopped")
    }
}

@Suite("Webhook URLs, answers and back-off")
struct WebhookTargetTests {
    @Test("http://HOST[:PORT][/PATH] is taken; https, other schemes, user names and bad ports are refused with a reason")
    func parsing() throws {
        let t = try WebhookTarget("http://127.0.0.1:8090/hooks/kefu?x=1")
        #expect(t.host == "127.0.0.1" && t.port == 8090 && t.path == "/hooks/kefu?x=1")
        #expect(t.hostHeader == "127.0.0.1:8090")
        let plain = try WebhookTarget("http://Hooks.Example.com")
        #expect(plain.host == "hooks.example.com" && plain.port == 80 && plain.path == "/" && plain.hostHeader == "hooks.example.com")
        #expect(try WebhookTarget("http://[::1]:9000/h").host == "::1")
        #expect(try WebhookTarget("http://example.com?a=b").path == "/?a=b")
        func reason(_ text: String) -> String {
            do { _ = try WebhookTarget(text); return "" } catch { return error.description }
        }
        #expect(reason("https://example.com/h").contains("https is not supported"))
        #expect(reason("ftp://example.com/h").contains("not an http:// URL"))
        #expect(reason("example.com/h").contains("not an http:// URL"))
        #expect(reason("http://:8080/h").contains("names no host"))
        #expect(reason("http://example.com:0/h").contains("port"))
        #expect(reason("http://example.com:99999/h").contains("port"))
        #expect(reason("http://user:pw@example.com/h").contains("user name"))
        #expect(reason("http://example.com/a b").contains("spaces"))
        #expect(reason("http://exa$mple.com/").contains("not a host name"))
    }

    @Test("the status is read from the answer's first line; 1xx answers are skipped; what is not HTTP is told early")
    func statusLine() {
        func parse(_ s: String) -> OutboundHTTP.StatusParse { OutboundHTTP.statusCode(in: Array(s.utf8)) }
        #expect(parse("HTTP/1.1 204 No Content\r\n") == .status(204))
        #expect(parse("HTTP/1.0 500 Oops\r\nContent-Length: 0\r\n\r\n") == .status(500))
        #expect(parse("HTTP/1.1 20") == .needMore)
        #expect(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n") == .status(200))
        #expect(parse("HTTP/1.1 100 Continue\r\n") == .needMore)
        #expect(parse("SSH-2.0-OpenSSH") == .malformed)
        #expect(parse("HTTP/1.1 2000 no\r\n") == .malformed)
    }

    @Test("back-off doubles from 1 s to a 60 s cap, less up to 20 % jitter; 4xx other than 408 and 429 are refusals")
    func schedule() {
        let policy = WebhookSender.Policy()
        let waits = (1...9).map { WebhookSender.delay(afterFailures: $0, policy: policy, random: 0) }
        #expect(waits == [1, 2, 4, 8, 16, 32, 60, 60, 60])
        #expect(WebhookSender.delay(afterFailures: 3, policy: policy, random: 1) == 4 * 0.8)
        #expect(WebhookSender.delay(afterFailures: 10_000, policy: policy, random: 0.5) == 60 * 0.9)
        #expect(WebhookSender.isRefusal(.status(404)))
        #expect(!WebhookSender.isRefusal(.status(429)))
        #expect(!WebhookSender.isRefusal(.status(408)))
        #expect(!WebhookSender.isRefusal(.status(503)))
        #expect(!WebhookSender.isRefusal(.timedOut))
    }

    @Test("the signature is sha256= and the hex HMAC-SHA256 of timestamp.body (the same as Python's hmac module computes)")
    func signature() {
        let body = Array(#"{"id":"d_1","event":"handoff"}"#.utf8)
        #expect(WebhookSender.signature(key: Array("s3cret".utf8), timestamp: 1_700_000_000, body: body) ==
                "sha256=4673f3f68355466638e860d495f1da32a0519db5a3d5351c8d2cbe3df577174f")
    }

    @Test("kefu serve refuses a --webhook that is not an http:// URL, saying why")
    func commandLine() throws {
        let cli = CommandLineTests()
        let https = try cli.run(["serve", "--webhook", "http://127.0.0.1:9/ok", "--webhook", "https://hooks.example.com/kefu"])
        #expect(https.status == 64)
        #expect(https.err.contains("--webhook takes http://HOST[:PORT]/PATH"))
        #expect(https.err.contains("https is not supported"))
        let port = try cli.run(["serve", "--webhook", "http://127.0.0.1:http/x"])
        #expect(port.status == 64)
        #expect(port.err.contains("port"))
    }
}
