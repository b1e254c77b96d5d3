import Testing
@testable import KefuCore

/// The HTTP/1.1 request parser: what it accepts, what it refuses with which status, and
/// that the answer is the same however the bytes are split.
@Suite("Web: HTTP request parser")
struct WebHTTPParserTests {
    static func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) throws(HTTPError) -> [HTTPRequest] {
        var parser = HTTPRequestParser(limits: limits)
        return try parser.feed(Array(text.utf8)[...])
    }

    static func parseByteAtATime(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) throws(HTTPError) -> [HTTPRequest] {
        var parser = HTTPRequestParser(limits: limits)
        var out: [HTTPRequest] = []
        for b in bytes { out += try parser.feed([b][...]) }
        return out
    }

    /// The error `text` is refused with, fed whole and byte by byte (both must agree).
    static func refusal(_ text: String, limits: HTTPLimits = HTTPLimits()) -> HTTPError? {
        var whole: HTTPError?, pieces: HTTPError?
        do { _ = try parse(text, limits: limits) } catch { whole = error }
        do { _ = try parseByteAtATime(Array(text.utf8), limits: limits) } catch { pieces = error }
        #expect(whole == pieces, "\(text.debugDescription)")
        return whole
    }

    static func get(_ target: String, _ headers: String = "") -> String {
        "GET \(target) HTTP/1.1\r\nHost: kefu\r\n\(headers)\r\n"
    }

    @Test("a GET is parsed into method, target, decoded path, segments, query and headers")
    func simpleGet() throws {
        let requests = try Self.parse("GET /v1/conversations/abc/messages?after=3 HTTP/1.1\r\nHost: kefu.example\r\nX-Trace:  t1 \r\nAccept: a\r\nACCEPT: b\r\n\r\n")
        #expect(requests.count == 1)
        let r = try #require(requests.first)
        #expect(r.method == "GET")
        #expect(r.target == "/v1/conversations/abc/messages?after=3")
        #expect(r.version == "HTTP/1.1")
        #expect(r.path == "/v1/conversations/abc/messages")
        #expect(r.pathSegments == ["v1", "conversations", "abc", "messages"])
        #expect(r.query == ["after": "3"])
        #expect(r.header("x-trace") == "t1")
        #expect(r.header("accept") == "a")
        #expect(r.headerValues("Accept") == ["a", "b"])
        #expect(r.headers.map(\.name) == ["Host", "X-Trace", "Accept", "ACCEPT"])
        #expect(r.body.isEmpty)
        #expect(r.keepAlive)
        #expect(!r.isWebSocketUpgrade)
    }

    @Test("bytes fed one at a time give the same requests as fed whole, with partial and body states reported")
    func byteAtATime() throws {
        let text = "POST /v1/m HTTP/1.1\r\nHost: k\r\nContent-Length: 11\r\n\r\nhello world"
            + "POST /v1/c HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: 1\r\n\r\n"
        let whole = try Self.parse(text)
        let pieces = try Self.parseByteAtATime(Array(text.utf8))
        #expect(whole.map(\.body) == [Array("hello world".utf8), Array("hello world".utf8)])
        #expect(pieces.map(\.body) == whole.map(\.body))
        #expect(pieces.map(\.target) == ["/v1/m", "/v1/c"])

        var parser = HTTPRequestParser()
        #expect(!parser.hasPartialRequest && !parser.isReadingBody)
        _ = try parser.feed(Array("POST /x HTTP/1.1\r\nHost: k\r\n".utf8)[...])
        #expect(parser.hasPartialRequest && !parser.isReadingBody)
        _ = try parser.feed(Array("Content-Length: 3\r\n\r\nab".utf8)[...])
        #expect(parser.hasPartialRequest && parser.isReadingBody)
        let done = try parser.feed(Array("c".utf8)[...])
        #expect(done.first?.body == Array("abc".utf8))
        #expect(!parser.hasPartialRequest && !parser.isReadingBody)
    }

    @Test("bare LF line endings are accepted, and one blank line before a request is ignored")
    func bareLFAndLeadingBlankLine() throws {
        let r = try Self.parse("GET /a HTTP/1.1\nHost: k\n\n")
        #expect(r.first?.path == "/a")
        var parser = HTTPRequestParser()
        _ = try parser.feed(Array("\r\n".utf8)[...])
        #expect(!parser.hasPartialRequest)
        _ = try parser.feed(Array("\r\n".utf8)[...])
        #expect(parser.hasPartialRequest, "a second blank line counts as a request started, so timeouts apply")
        #expect(try parser.feed(Array(Self.get("/b").utf8)[...]).first?.path == "/b")
    }

    @Test("malformed request lines are refused with 400")
    func malformedRequestLines() {
        let lines = ["GET  / HTTP/1.1", "GET /", "GET / HTTP/1.1 x", "G(T / HTTP/1.1", "GET / http/1.1", "GET / HTTP/1", "GET / HTTP/1.10", "GET / HTTP/2",
                     "GET http://kefu/ HTTP/1.1", "OPTIONS * HTTP/1.1", "GET /a\tb HTTP/1.1", "GET /a#top HTTP/1.1",
                     "GET /caf\u{e9} HTTP/1.1", " GET / HTTP/1.1", "GET / HTTP/1.1 ", "GET /a\rb HTTP/1.1", "GET /\u{7f} HTTP/1.1"]
        for line in lines {
            #expect(Self.refusal("\(line)\r\nHost: k\r\n\r\n")?.status == 400, "\(line.debugDescription)")
        }
    }

    @Test("what is plainly not HTTP (a TLS handshake) is refused at its first byte")
    func tlsRefusedAtFirstByte() {
        var parser = HTTPRequestParser()
        #expect(throws: HTTPError.self) { try parser.feed([0x16][...]) }
    }

    @Test("versions other than HTTP/1.0 and 1.1, and the HTTP/2 preface, get 505")
    func unsupportedVersions() {
        for version in ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"] {
            #expect(Self.refusal("GET / \(version)\r\nHost: k\r\n\r\n")?.status == 505, "\(version)")
        }
        #expect(Self.refusal("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")?.status == 505)
    }

    @Test("a request line over the limit gets 414 as soon as the limit is passed, without waiting for its end")
    func requestLineTooLong() {
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 64
        var parser = HTTPRequestParser(limits: limits)
        #expect(throws: HTTPError.uriTooLong(limit: 64)) { try parser.feed(Array(("GET /" + String(repeating: "a", count: 100)).utf8)[...]) }
        #expect(Self.refusal("GET /\(String(repeating: "a", count: 60)) HTTP/1.1\r\nHost: k\r\n\r\n", limits: limits)?.status == 414)
        #expect((try? Self.parse("GET /\(String(repeating: "a", count: 40)) HTTP/1.1\r\nHost: k\r\n\r\n", limits: limits))?.count == 1)
    }

    @Test("headers over the byte or count limit get 431, an endless header line before its end")
    func oversizedHeaders() {
        var limits = HTTPLimits()
        limits.maxHeaderBytes = 200
        limits.maxHeaderCount = 5
        #expect(Self.refusal(Self.get("/", "X-Big: \(String(repeating: "v", count: 300))\r\n"), limits: limits)?.status == 431)
        let many = (1...6).map { "X-\($0): v\r\n" }.joined()
        #expect(Self.refusal("GET / HTTP/1.1\r\n\(many)Host: k\r\n\r\n", limits: limits)?.status == 431)
        var parser = HTTPRequestParser(limits: limits)
        #expect(throws: HTTPError.self) {
            try parser.feed(Array("GET / HTTP/1.1\r\nX: \(String(repeating: "v", count: 500))".utf8)[...])
        }
        let four = (1...4).map { "X-\($0): v\r\n" }.joined()
        #expect((try? Self.parse("GET / HTTP/1.1\r\n\(four)Host: k\r\n\r\n", limits: limits))?.count == 1)
    }

    @Test("malformed header lines are refused with 400: space before colon, obs-fold, no colon, control characters")
    func malformedHeaders() {
        let bad = ["Host : k\r\n", "X-A: 1\r\n folded\r\n", "NoColon\r\n", "X-A: a\u{0}b\r\n", "X-A: a\rb\r\n",
                   ": empty-name\r\n", "X(A): v\r\n", "X-A: a\u{1}b\r\n"]
        for line in bad {
            #expect(Self.refusal("GET / HTTP/1.1\r\nHost: k\r\n\(line)\r\n")?.status == 400, "\(line.debugDescription)")
        }
    }

    @Test("HTTP/1.1 needs exactly one Host; HTTP/1.0 may omit it")
    func hostRules() throws {
        #expect(Self.refusal("GET / HTTP/1.1\r\n\r\n")?.message.contains("Host") == true)
        #expect(Self.refusal("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n")?.status == 400)
        #expect(try Self.parse("GET / HTTP/1.0\r\n\r\n").count == 1)
    }

    @Test("header values are trimmed, and non-UTF-8 bytes read as ISO-8859-1 rather than replaced")
    func headerValueDecoding() throws {
        var bytes = Array("GET / HTTP/1.1\r\nHost: k\r\nX-A: \t caf\u{e9} \t\r\nX-B: ".utf8)
        bytes += [0x63, 0x61, 0x66, 0xE9] + Array("\r\n\r\n".utf8)
        let r = try #require(try Self.parseByteAtATime(bytes).first)
        #expect(r.header("X-A") == "caf\u{e9}")
        #expect(r.header("X-B") == "caf\u{e9}")
    }

    @Test("Content-Length must be digits; equal duplicates are one value, different ones are refused")
    func contentLengthRules() throws {
        for value in ["+5", "-1", "5a", "", "0x5", "5 5", "5,"] {
            #expect(Self.refusal("POST / HTTP/1.1\r\nHost: k\r\nContent-Length: \(value)\r\n\r\nhello")?.status == 400, "\(value)")
        }
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")?.status == 400)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 5, 6\r\n\r\nhello!")?.status == 400)
        let same = try Self.parse("POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 5\r\nContent-Length: 005\r\n\r\nhello")
        #expect(same.first?.body == Array("hello".utf8))
        #expect(try Self.parse("POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 5, 5\r\n\r\nhello").count == 1)
    }

    @Test("a body announced over the limit gets 413 before any of it is sent, however many digits it has")
    func bodyTooLarge() {
        var limits = HTTPLimits()
        limits.maxBodyBytes = 10
        let tooLarge = HTTPError.bodyTooLarge(limit: 10)
        #expect(tooLarge.message == "body too large (limit 10 bytes)")
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 11\r\n\r\n", limits: limits) == tooLarge)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 99999999999999999999999999\r\n\r\n", limits: limits) == tooLarge)
        #expect((try? Self.parse("POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits))?.count == 1)
    }

    @Test("Content-Length with Transfer-Encoding is refused (request smuggling), whichever comes first")
    func smugglingCLAndTE() {
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")?.status == 400)
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n")?.status == 400)
    }

    @Test("transfer codings other than exactly chunked get 501; chunked in HTTP/1.0 gets 400")
    func unsupportedTransferEncodings() {
        for coding in ["gzip, chunked", "identity", "chunked, chunked", "chunkedx", "gzip"] {
            #expect(Self.refusal("POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: \(coding)\r\n\r\n0\r\n\r\n")?.status == 501, "\(coding)")
        }
        #expect(Self.refusal("POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")?.status == 501)
        #expect(Self.refusal("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")?.status == 400)
        #expect((try? Self.parse("POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"))?.count == 1)
    }

    @Test("a chunked body is joined, with extensions, upper-case hex, leading zeros and trailers ignored")
    func chunkedBody() throws {
        let text = "POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "4\r\nWiki\r\n0005 ; name=\"v\"\r\npedia\r\nD\r\n in\r\n\r\nchunks\r\n0\r\nExpires: never\r\nX: y\r\n\r\n"
        let r = try #require(try Self.parse(text).first)
        #expect(String(decoding: r.body, as: UTF8.self) == "Wikipedia in\r\n\r\nchunks")
    }

    @Test("bad chunk sizes are refused: not hex (400), overflowing or over the limit in total (413)")
    func badChunkSizes() {
        let head = "POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n"
        for size in ["zz", "", "-1", " 4", "4 x", "0x4", "4;\u{1}"] {
            #expect(Self.refusal(head + "\(size)\r\nWiki\r\n0\r\n\r\n")?.status == 400, "\(size.debugDescription)")
        }
        #expect(Self.refusal(head + "ffffffffffffffffffffffff\r\n")?.status == 413)
        var limits = HTTPLimits()
        limits.maxBodyBytes = 8
        #expect(Self.refusal(head + "5\r\nhello\r\n4\r\nmore\r\n0\r\n\r\n", limits: limits) == .bodyTooLarge(limit: 8))
        limits.maxChunkLineBytes = 16
        #expect(Self.refusal(head + "4;\(String(repeating: "e", count: 40))\r\nWiki\r\n0\r\n\r\n", limits: limits)?.status == 400)
    }

    @Test("chunk data must end with CRLF, and trailers have limits of their own")
    func chunkFramingAndTrailers() {
        let head = "POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(Self.refusal(head + "4\r\nWikipedia\r\n0\r\n\r\n")?.status == 400)
        var limits = HTTPLimits()
        limits.maxHeaderCount = 3
        let trailers = (1...4).map { "T-\($0): v\r\n" }.joined()
        #expect(Self.refusal(head + "0\r\n\(trailers)\r\n", limits: limits)?.status == 431)
    }

    @Test("pipelined requests come back as two, in order, whole or split anywhere")
    func pipelinedRequests() throws {
        let text = Self.get("/one") + "POST /two HTTP/1.1\r\nHost: k\r\nContent-Length: 3\r\n\r\nabc"
        #expect(try Self.parse(text).map(\.path) == ["/one", "/two"])
        let bytes = Array(text.utf8)
        for split in [1, 20, 36, 37, 50, bytes.count - 1] {
            var parser = HTTPRequestParser()
            let first = try parser.feed(bytes[..<split])
            let second = try parser.feed(bytes[split...])
            #expect((first + second).map(\.path) == ["/one", "/two"], "split at \(split)")
        }
    }

    @Test("keep-alive: HTTP/1.1 unless Connection: close, HTTP/1.0 only with keep-alive")
    func keepAliveRules() throws {
        func keepAlive(_ version: String, _ connection: String?) throws -> Bool {
            let header = connection.map { "Connection: \($0)\r\n" } ?? ""
            return try #require(try Self.parse("GET / \(version)\r\nHost: k\r\n\(header)\r\n").first).keepAlive
        }
        #expect(try keepAlive("HTTP/1.1", nil))
        #expect(try !keepAlive("HTTP/1.1", "close"))
        #expect(try !keepAlive("HTTP/1.1", "Keep-Alive, CLOSE"))
        #expect(try !keepAlive("HTTP/1.0", nil))
        #expect(try keepAlive("HTTP/1.0", "Keep-Alive"))
        #expect(try !keepAlive("HTTP/1.0", "keep-alive, close"))
    }

    @Test("paths are percent-decoded per segment into UTF-8; + stays + in a path")
    func percentDecodedPath() throws {
        let r = try HTTPRequest(method: "GET", target: "/v1/conversations/%E5%AE%A2%E6%9C%8D/a+b%20c")
        #expect(r.pathSegments == ["v1", "conversations", "客服", "a+b c"])
        #expect(r.path == "/v1/conversations/客服/a+b c")
        let slashes = try HTTPRequest(method: "GET", target: "/a//b/")
        #expect(slashes.path == "/a//b/")
        #expect(slashes.pathSegments == ["a", "b"])
        #expect(try HTTPRequest(method: "GET", target: "/").pathSegments == [])
        #expect(try HTTPRequest(method: "GET", target: "/.../a..b").pathSegments == ["...", "a..b"])
    }

    @Test("bad escapes, %00, invalid UTF-8, encoded slashes and control characters in a path get 400")
    func badPercentEncoding() {
        for target in ["/a%G1", "/a%4", "/a%", "/a%%41", "/a%00b", "/a%FF", "/a%C3%28", "/a%2Fb", "/a%2fb", "/a%0Ab", "/a%7F",
                       "/?q=%ZZ", "/?q=%00", "/?q=%C3"] {
            #expect(Self.refusal(Self.get(target))?.status == 400, "\(target)")
        }
    }

    @Test("dot segments are refused, encoded or not")
    func dotSegments() {
        for target in ["/v1/../x", "/./x", "/x/..", "/x/.", "/%2e%2E/x", "/%2e/x", "/a/.%2e/b", "/..?q=1"] {
            #expect(Self.refusal(Self.get(target))?.message.contains("not allowed") == true, "\(target)")
        }
    }

    @Test("query parameters are decoded with + as space, and the last of a repeated name wins")
    func queryParsing() throws {
        let r = try HTTPRequest(method: "GET", target: "/s?a=1&b=hello+world&a=2&c&d=%26%3D&&=x&e=%E4%BD%A0&f=a=b")
        #expect(r.query == ["a": "2", "b": "hello world", "c": "", "d": "&=", "e": "你", "f": "a=b"])
        #expect(r.path == "/s")
        #expect(try HTTPRequest(method: "GET", target: "/s?").query.isEmpty)
    }

    @Test("a GET or HEAD with a Content-Length body gets its body")
    func getWithBody() throws {
        let r = try Self.parse("GET / HTTP/1.1\r\nHost: k\r\nContent-Length: 2\r\n\r\nhi" + "HEAD / HTTP/1.1\r\nHost: k\r\nContent-Length: 1\r\n\r\nx")
        #expect(r.map(\.body) == [Array("hi".utf8), Array("x".utf8)])
        #expect(r.map(\.method) == ["GET", "HEAD"])
    }

    @Test("after an error the parser throws the same error for any further bytes")
    func errorIsFinal() {
        var parser = HTTPRequestParser()
        #expect(throws: HTTPError.versionNotSupported) { try parser.feed(Array("GET / HTTP/2.0\r\n".utf8)[...]) }
        #expect(throws: HTTPError.versionNotSupported) { try parser.feed(Array(Self.get("/").utf8)[...]) }
    }

    @Test("after a WebSocket handshake the parser stops and keeps the following bytes for the frame parser")
    func stopsAfterUpgrade() throws {
        let handshake = "GET /v1/ws HTTP/1.1\r\nHost: k\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        var parser = HTTPRequestParser()
        let requests = try parser.feed(Array((handshake + "GET / HTTP/1.1\r\n").utf8)[...])
        #expect(requests.count == 1)
        #expect(requests.first?.isWebSocketUpgrade == true)
        #expect(parser.isUpgraded && !parser.hasPartialRequest)
        #expect(try parser.feed([0x81][...]).isEmpty)
        #expect(parser.takeUnconsumedBytes() == Array("GET / HTTP/1.1\r\n".utf8) + [0x81])
        #expect(parser.takeUnconsumedBytes().isEmpty)
    }
}
