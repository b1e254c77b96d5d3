/// One complete HTTP/1.x request, as `HTTPRequestParser` hands it over: framing already
/// checked, target already decoded, body already de-chunked.
struct HTTPRequest: Sendable {
    /// The method token as sent ("GET", "POST", …); methods are case-sensitive (RFC 9110 §9.1).
    var method: String
    /// The raw request target, e.g. `/v1/conversations/abc/messages?after=3`.
    var target: String
    /// "HTTP/1.1" or "HTTP/1.0", the only versions the parser lets through.
    var version: String
    /// Percent-decoded path, validated UTF-8, e.g. `/v1/conversations/abc/messages`.
    var path: String
    /// Decoded non-empty path segments: `["v1", "conversations", "abc", "messages"]`.
    var pathSegments: [String]
    /// Percent-decoded query (`+` as space); a repeated name keeps its last value.
    var query: [String: String]
    /// Header lines in order, names as sent; use `header(_:)` to look one up.
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// A request from its parts; throws what the parser would for a bad target. Tests and
    /// the integrator build requests with it; the parser uses it too, so both agree.
    init(method: String, target: String, version: String = "HTTP/1.1",
         headers: [(name: String, value: String)] = [], body: [UInt8] = []) throws(HTTPError) {
        let parsed = try HTTPRequestTarget(parsing: target)
        self.method = method
        self.target = target
        self.version = version
        self.path = parsed.path
        self.pathSegments = parsed.pathSegments
        self.query = parsed.query
        self.headers = headers
        self.body = body
    }

    /// The first value of the header `name`, compared without regard to ASCII case.
    func header(_ name: String) -> String? {
        headers.first { Self.sameName($0.name, name) }?.value
    }

    /// Every value of the header `name`, in order.
    func headerValues(_ name: String) -> [String] {
        headers.filter { Self.sameName($0.name, name) }.map(\.value)
    }

    /// The comma-separated, lower-cased tokens of every `name` line, e.g. `Connection:
    /// keep-alive, Upgrade` → `["keep-alive", "upgrade"]`.
    func headerTokens(_ name: String) -> [String] {
        headerValues(name).flatMap { $0.split(separator: ",") }
            .map { $0.trimmingASCIIWhitespace.lowercased() }
            .filter { !$0.isEmpty }
    }

    /// Whether the connection may carry another request after this one's response
    /// (RFC 9112 §9.3): HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with `keep-alive`.
    var keepAlive: Bool {
        let tokens = headerTokens("Connection")
        if tokens.contains("close") { return false }
        return version == "HTTP/1.1" || tokens.contains("keep-alive")
    }

    /// The client asks to switch to WebSocket (`Upgrade: websocket`), valid handshake or not;
    /// route such a request to `WebSocket.handshakeResponse(for:)`, which says what is wrong.
    var asksForWebSocket: Bool { headerTokens("Upgrade").contains("websocket") }

    /// A complete, valid WebSocket opening handshake (RFC 6455 §4.2.1): GET over HTTP/1.1,
    /// `Upgrade: websocket`, `Connection` with `upgrade`, `Sec-WebSocket-Version: 13` and a key
    /// that is 16 bytes in Base64. Exactly when `WebSocket.handshakeResponse(for:)` succeeds.
    var isWebSocketUpgrade: Bool { WebSocket.handshakeProblem(self) == nil }

    static func sameName(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.lowercased() == b.lowercased()
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingASCIIWhitespace: String {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
