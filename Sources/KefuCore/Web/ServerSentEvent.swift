/// One event of a `text/event-stream` response (Server-Sent Events, WHATWG HTML §9.2),
/// for clients that cannot or will not speak WebSocket: replies are pushed down one long
/// response that the connection keeps open.
///
/// The format is line-based, so every field is cut into lines or cleaned of line breaks:
/// text from a conversation can never end an event early or forge a field.
struct ServerSentEvent: Sendable {
    /// Sent back by the browser as `Last-Event-ID` when it reconnects, so the stream can resume.
    var id: String?
    /// The event type; nil means the default `message`.
    var event: String?
    var data: String
    /// How long the browser waits before reconnecting.
    var retryMilliseconds: Int?

    init(id: String? = nil, event: String? = nil, data: String, retryMilliseconds: Int? = nil) {
        self.id = id
        self.event = event
        self.data = data
        self.retryMilliseconds = retryMilliseconds
    }

    /// The event's bytes: `id`, `event`, `retry`, then one `data:` line per line of `data`
    /// (split at CRLF, CR or LF, as the browser would), and the blank line that dispatches it.
    func encoded() -> [UInt8] {
        var out = ""
        if let id { out += "id: \(Self.oneLine(id, droppingNUL: true))\n" }
        if let event { out += "event: \(Self.oneLine(event))\n" }
        if let retryMilliseconds, retryMilliseconds >= 0 { out += "retry: \(retryMilliseconds)\n" }
        for line in Self.lines(of: data) { out += "data: \(line)\n" }
        out += "\n"
        return Array(out.utf8)
    }

    /// A comment line, e.g. `: keep-alive`, which browsers ignore: sent now and then so
    /// proxies and the browser do not time out a quiet stream.
    static func comment(_ text: String) -> [UInt8] {
        Array(": \(oneLine(text))\n\n".utf8)
    }

    /// The head of the streaming response: no Content-Length (the stream ends when the
    /// connection closes), no caching, and `X-Accel-Buffering: no` so a fronting nginx passes
    /// each event on at once. `extraHeaders` (e.g. CORS) are cleaned like any response header.
    static func responseHead(extraHeaders: [(String, String)] = []) -> [UInt8] {
        var head = "HTTP/1.1 200 OK\r\n"
        head += "Content-Type: text/event-stream; charset=utf-8\r\n"
        head += "Cache-Control: no-cache\r\n"
        head += "Connection: keep-alive\r\n"
        head += "X-Accel-Buffering: no\r\n"
        for (name, value) in extraHeaders where HTTPResponse.isToken(name) && !HTTPResponse.framingHeaders.contains(name.lowercased()) {
            head += "\(name): \(HTTPResponse.sanitizedValue(value))\r\n"
        }
        head += "\r\n"
        return Array(head.utf8)
    }

    /// `text` with CR and LF removed (and NUL, which makes browsers ignore an `id`).
    static func oneLine(_ text: String, droppingNUL: Bool = false) -> String {
        let kept = text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && !(droppingNUL && $0 == "\0") }
        return String(String.UnicodeScalarView(kept))
    }

    /// The lines of `text`, split at CRLF, CR or LF.
    static func lines(of text: String) -> [Substring] {
        // Swift treats "\r\n" as one Character, so splitting on Characters handles all three.
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" })
    }
}
