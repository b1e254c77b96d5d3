/// A response to serialise onto the connection. The serialiser owns the framing headers
/// (Content-Length, Connection, Transfer-Encoding): any the caller sets are replaced, so a
/// handler can never frame a response differently from the bytes actually sent.
struct HTTPResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON body (already encoded by the caller).
    static func json(_ status: Int, _ body: [UInt8], extraHeaders: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status,
                     headers: [("Content-Type", "application/json; charset=utf-8"), ("X-Content-Type-Options", "nosniff")] + extraHeaders,
                     body: body)
    }

    /// `{"error": message, "status": N}`: what every refusal looks like, so a client can
    /// always show the message.
    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        var body = Array("{\"error\":".utf8)
        JSONText.appendQuoted(message, to: &body)
        body.append(contentsOf: ",\"status\":\(status)}".utf8)
        return json(status, body)
    }

    /// The answer to a request the parser refused.
    static func error(_ error: HTTPError) -> HTTPResponse { Self.error(error.status, error.message) }

    /// The response's bytes: status line with reason phrase, the caller's headers, then
    /// Content-Length and Connection, a blank line and the body.
    ///
    /// Header names that are not tokens are dropped and control characters (CR, LF, NUL, …)
    /// are removed from values, so no value, however it was built from client input, can
    /// end the header block early and inject headers or a second response.
    /// `omitBody`: the answer to HEAD, which announces the length but sends no body.
    /// 1xx, 204 and 304 never carry a body or Content-Length (RFC 9110 §8.6).
    func serialized(keepAlive: Bool, omitBody: Bool = false) -> [UInt8] {
        let status = (100...599).contains(status) ? status : 500
        let bodyless = status < 200 || status == 204 || status == 304
        var head = "HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\n"
        for (name, value) in headers where Self.isToken(name) && !Self.framingHeaders.contains(name.lowercased()) {
            head += "\(name): \(Self.sanitizedValue(value))\r\n"
        }
        if !bodyless { head += "Content-Length: \(body.count)\r\n" }
        head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        var out = Array(head.utf8)
        if !bodyless && !omitBody { out.append(contentsOf: body) }
        return out
    }

    static let framingHeaders: Set<String> = ["content-length", "connection", "transfer-encoding"]

    /// `value` without control characters other than tab, trimmed.
    static func sanitizedValue(_ value: String) -> String {
        let kept = value.unicodeScalars.filter { !($0.value < 0x20 && $0 != "\t") && $0.value != 0x7F }
        return String(String.UnicodeScalarView(kept)).trimmingASCIIWhitespace
    }

    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(HTTPRequestParser.isTokenByte)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        // 502 and 504 are a proxy's statuses, never Kefu's own; they get the class name.
        default:
            switch status {
            case 100..<200: "Informational"
            case 200..<300: "Success"
            case 300..<400: "Redirection"
            case 400..<500: "Client Error"
            default: "Server Error"
            }
        }
    }
}
