import Foundation
import Testing
@testable import KefuCore

/// Responses and Server-Sent Events as bytes: framing headers the serialiser owns, no way
/// for a header value to inject lines, error bodies that are valid JSON.
@Suite("Web: HTTP responses and Server-Sent Events")
struct WebResponseTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("a response has its status line with reason phrase, Content-Length, Connection and body")
    func serializedResponse() {
        let r = HTTPResponse.json(201, Array("{}".utf8), extraHeaders: [("Location", "/v1/c/1")])
        #expect(Self.text(r.serialized(keepAlive: true)) == "HTTP/1.1 201 Created\r\nContent-Type: application/json; charset=utf-8\r\n"
                + "X-Content-Type-Options: nosniff\r\nLocation: /v1/c/1\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}")
        #expect(Self.text(HTTPResponse(status: 404).serialized(keepAlive: false)) == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    @Test("CR, LF and NUL in header values are removed and bad header names dropped: no header injection")
    func headerInjection() {
        let r = HTTPResponse(status: 200, headers: [("X-Name", "a\r\nSet-Cookie: stolen=1\r\n\r\n<html>"), ("X-Evil\r\nSet-Cookie", "x"),
                                                  ("X-Nul", "a\u{0}b"), ("Bad Name", "v")], body: [])
        let out = Self.text(r.serialized(keepAlive: true))
        #expect(!out.contains("\r\nSet-Cookie"))
        #expect(out.contains("X-Name: aSet-Cookie: stolen=1<html>\r\n"))
        #expect(out.contains("X-Nul: ab\r\n"))
        #expect(!out.contains("Bad Name"))
        #expect(out.components(separatedBy: "\r\n\r\n").count == 2)
    }

    @Test("framing headers set by a handler are replaced by the serialiser's own")
    func framingHeadersReplaced() {
        let r = HTTPResponse(status: 200, headers: [("Content-Length", "999"), ("transfer-encoding", "chunked"), ("Connection", "upgrade")],
                             body: Array("hi".utf8))
        #expect(Self.text(r.serialized(keepAlive: false)) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
    }

    @Test("204, 304 and 1xx carry no body or Content-Length; HEAD announces the length without the body")
    func bodylessResponses() {
        for status in [204, 304, 100] {
            let out = Self.text(HTTPResponse(status: status, body: Array("x".utf8)).serialized(keepAlive: true))
            #expect(!out.contains("Content-Length") && out.hasSuffix("\r\n\r\n"), "\(status)")
        }
        let head = Self.text(HTTPResponse.json(200, Array("{\"a\":1}".utf8)).serialized(keepAlive: true, omitBody: true))
        #expect(head.contains("Content-Length: 7\r\n") && head.hasSuffix("\r\n\r\n"))
        #expect(Self.text(HTTPResponse(status: 42).serialized(keepAlive: false)).hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
    }

    @Test("an error body is {\"error\", \"status\"} JSON, escaped so any message parses back")
    func errorBodyIsEscapedJSON() throws {
        let message = "bad \"thing\" \\ here\n\t\u{1}客服 </script>"
        let r = HTTPResponse.error(400, message)
        #expect(r.status == 400)
        #expect(r.headers.contains { $0.0 == "Content-Type" && $0.1.hasPrefix("application/json") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        #expect(object["error"] as? String == message)
        #expect(object["status"] as? Int == 400)
        #expect(Self.text(HTTPResponse.error(.bodyTooLarge(limit: 65536)).body) == "{\"error\":\"body too large (limit 65536 bytes)\",\"status\":413}")
    }

    @Test("reason phrases for the statuses Kefu answers, and a class name for others")
    func reasonPhrases() {
        #expect(HTTPResponse.reasonPhrase(200) == "OK")
        #expect(HTTPResponse.reasonPhrase(101) == "Switching Protocols")
        #expect(HTTPResponse.reasonPhrase(413) == "Content Too Large")
        #expect(HTTPResponse.reasonPhrase(414) == "URI Too Long")
        #expect(HTTPResponse.reasonPhrase(426) == "Upgrade Required")
        #expect(HTTPResponse.reasonPhrase(431) == "Request Header Fields Too Large")
        #expect(HTTPResponse.reasonPhrase(505) == "HTTP Version Not Supported")
        #expect(HTTPResponse.reasonPhrase(499) == "Client Error")
    }

    @Test("an event's multi-line data becomes several data lines, and CR/LF are removed from id and event")
    func serverSentEventEncoding() {
        let e = ServerSentEvent(id: "4\r\n2\u{0}", event: "rep\nly", data: "a\nb\r\nc\rd\n", retryMilliseconds: 3000)
        #expect(Self.text(e.encoded()) == "id: 42\nevent: reply\nretry: 3000\ndata: a\ndata: b\ndata: c\ndata: d\ndata: \n\n")
        #expect(Self.text(ServerSentEvent(data: "hi").encoded()) == "data: hi\n\n")
        #expect(Self.text(ServerSentEvent(data: "").encoded()) == "data: \n\n")
    }

    @Test("comments and the event-stream response head are what browsers and proxies expect")
    func serverSentEventFraming() {
        #expect(Self.text(ServerSentEvent.comment("keep-alive")) == ": keep-alive\n\n")
        #expect(Self.text(ServerSentEvent.comment("a\r\nb")) == ": ab\n\n")
        let head = Self.text(ServerSentEvent.responseHead(extraHeaders: [("Access-Control-Allow-Origin", "*\r\nX: y")]))
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        for line in ["Content-Type: text/event-stream; charset=utf-8", "Cache-Control: no-cache", "Connection: keep-alive",
                     "X-Accel-Buffering: no", "Access-Control-Allow-Origin: *X: y"] {
            #expect(head.contains("\r\n\(line)\r\n"), "\(line)")
        }
        #expect(head.hasSuffix("\r\n\r\n") && !head.contains("Content-Length"))
    }
}
