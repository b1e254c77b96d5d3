/// Turns the bytes of one connection into `HTTPRequest`s (HTTP/1.1, RFC 9112), incrementally:
/// bytes may arrive in any pieces, one at a time included, and each is looked at once.
///
/// Only the current line is buffered (and the body of the current request), and each limit
/// in `HTTPLimits` is checked as bytes are appended, so an unfinished line or body never
/// costs more than its limit. The parser is strict where leniency lets two parties read one
/// message differently (request smuggling): a body is framed by exactly one of
/// Content-Length or `Transfer-Encoding: chunked`, never guessed.
///
/// Deliberately not supported:
/// - `Expect: 100-continue` is ignored: no interim 100 is sent, and clients that wait for one
///   (curl waits one second) send the body anyway. Bodies are small, so nothing is gained by
///   refusing them before they arrive.
/// - obs-fold (header lines continued with leading whitespace) is refused (400), as RFC 9112
///   §5.2 allows.
/// - Transfer codings other than exactly `chunked` get 501.
///
/// After a request that is a valid WebSocket handshake the parser stops: the bytes that
/// follow belong to the WebSocket stream and are kept for `takeUnconsumedBytes()`.
struct HTTPRequestParser {
    let limits: HTTPLimits

    private enum State {
        case requestLine
        case headers
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The CRLF every chunk's data must end with.
        case chunkDataEnd
        case trailers
        /// A WebSocket handshake was parsed; nothing more is read as HTTP.
        case upgraded
    }

    private var state = State.requestLine
    /// The line being received, up to (not including) its LF.
    private var line: [UInt8] = []
    /// The request whose headers or body are being received.
    private var current: HTTPRequest?
    private var headerBytes = 0, headerCount = 0
    /// Empty lines seen before this request's request line (RFC 9112 §2.2 asks servers to
    /// ignore one; more are treated as the start of a request, so timeouts apply to them).
    private var blankLines = 0
    private var failure: HTTPError?
    private var unconsumed: [UInt8] = []

    private static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")

    init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
        line.reserveCapacity(256)
    }

    /// Some bytes of a request have arrived but not all of it: the caller runs its header or
    /// body timeout (see `isReadingBody`) while this is true.
    var hasPartialRequest: Bool {
        switch state {
        case .requestLine: blankLines > 1 || line.contains { $0 != Self.cr }
        case .upgraded: false
        default: true
        }
    }

    /// Headers are complete and the body is being received.
    var isReadingBody: Bool {
        switch state {
        case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers: true
        case .requestLine, .headers, .upgraded: false
        }
    }

    /// A WebSocket handshake has been parsed; later bytes are WebSocket frames.
    var isUpgraded: Bool {
        if case .upgraded = state { return true }
        return false
    }

    /// The bytes received after a WebSocket handshake (frames a client sent early), to feed
    /// to a `WebSocketParser`; empty otherwise. Hands them over once.
    mutating func takeUnconsumedBytes() -> [UInt8] {
        defer { unconsumed = [] }
        return unconsumed
    }

    /// Appends bytes; returns the requests they complete, in order. A client that pipelines
    /// gets more than one, and the caller decides whether to serve or refuse the rest.
    ///
    /// Throws at the first malformed or oversized thing (requests completed earlier in the
    /// same bytes are dropped with it). After an error the parser only throws that error
    /// again: the caller answers with it and closes, since the framing is lost.
    mutating func feed(_ bytes: ArraySlice<UInt8>) throws(HTTPError) -> [HTTPRequest] {
        if let failure { throw failure }
        var done: [HTTPRequest] = []
        var i = bytes.startIndex
        do throws(HTTPError) {
            while i < bytes.endIndex {
                switch state {
                case .upgraded:
                    unconsumed.append(contentsOf: bytes[i...])
                    i = bytes.endIndex
                case .fixedBody(let remaining), .chunkData(let remaining):
                    let take = min(remaining, bytes.endIndex - i)
                    current?.body.append(contentsOf: bytes[i..<(i + take)])
                    i += take
                    let left = remaining - take
                    if case .fixedBody = state {
                        if left == 0 { complete(into: &done) } else { state = .fixedBody(remaining: left) }
                    } else {
                        state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
                    }
                case .requestLine, .headers, .chunkSize, .chunkDataEnd, .trailers:
                    let newline = bytes[i...].firstIndex(of: Self.lf)
                    let end = newline ?? bytes.endIndex
                    try appendToLine(bytes[i..<end])
                    i = end
                    if let newline {
                        i = newline + 1
                        try lineComplete(into: &done)
                    }
                }
            }
        } catch {
            failure = error
            throw error
        }
        return done
    }

    // MARK: Lines

    /// Adds bytes of the current line, refusing it as soon as it passes its limit.
    private mutating func appendToLine(_ piece: ArraySlice<UInt8>) throws(HTTPError) {
        guard !piece.isEmpty else { return }
        let length = line.count + piece.count
        switch state {
        case .requestLine:
            // Fail fast on what is plainly not HTTP (a TLS handshake sent to a plain port).
            if line.isEmpty, let first = piece.first, first != Self.cr, !Self.isTokenByte(first) {
                throw .badRequest("bad request line (not HTTP; TLS to a plain-HTTP port?)")
            }
            if length > limits.maxRequestLineBytes { throw .uriTooLong(limit: limits.maxRequestLineBytes) }
        case .headers:
            if headerBytes + length > limits.maxHeaderBytes {
                throw .headersTooLarge("limit \(limits.maxHeaderBytes) bytes")
            }
        case .trailers:
            if headerBytes + length > limits.maxHeaderBytes {
                throw .headersTooLarge("trailers over \(limits.maxHeaderBytes) bytes")
            }
        case .chunkSize:
            if length > limits.maxChunkLineBytes {
                throw .badRequest("chunk size line longer than \(limits.maxChunkLineBytes) bytes")
            }
        case .chunkDataEnd:
            if length > 1 || piece.first != Self.cr {
                throw .badRequest("chunk data not followed by CRLF (chunk size larger than the data sent?)")
            }
        case .fixedBody, .chunkData, .upgraded:
            break
        }
        line.append(contentsOf: piece)
    }

    /// Handles the line just ended by LF (its CR, if any, dropped: bare LF is accepted).
    private mutating func lineComplete(into done: inout [HTTPRequest]) throws(HTTPError) {
        let raw = line
        line.removeAll(keepingCapacity: line.capacity <= 4096)
        var content = raw[...]
        if content.last == Self.cr { content = content.dropLast() }
        switch state {
        case .requestLine:
            if content.isEmpty {
                blankLines += 1
                return
            }
            current = try Self.parseRequestLine(content)
            headerBytes = 0
            headerCount = 0
            state = .headers
        case .headers:
            headerBytes += raw.count + 1
            if content.isEmpty {
                try headersComplete(into: &done)
                return
            }
            headerCount += 1
            if headerCount > limits.maxHeaderCount { throw .headersTooLarge("more than \(limits.maxHeaderCount) header lines") }
            let header = try Self.parseHeader(content)
            current?.headers.append(header)
        case .chunkSize:
            try chunkSizeLine(content)
        case .chunkDataEnd:
            state = .chunkSize
        case .trailers:
            // Trailers are read to find the end of the message and otherwise ignored: nothing
            // here would act on a field that arrives after the body.
            headerBytes += raw.count + 1
            if content.isEmpty {
                complete(into: &done)
                return
            }
            headerCount += 1
            if headerCount > limits.maxHeaderCount { throw .headersTooLarge("more than \(limits.maxHeaderCount) trailer lines") }
        case .fixedBody, .chunkData, .upgraded:
            break
        }
    }

    /// `METHOD SP target SP HTTP/1.x`, single spaces, nothing else (RFC 9112 §3).
    static func parseRequestLine(_ content: ArraySlice<UInt8>) throws(HTTPError) -> HTTPRequest {
        if content.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw .badRequest("bad request line (control character)")
        }
        let parts = content.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw .badRequest("bad request line (expected METHOD /path HTTP/1.1, single spaces)")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        if version != "HTTP/1.1" && version != "HTTP/1.0" {
            // Versions are checked first so the HTTP/2 preface (`PRI * HTTP/2.0`) gets 505.
            let v = Array(version.utf8)
            let isDigit = { (b: UInt8) in b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
            let wellFormed = v.count == 8 && version.hasPrefix("HTTP/") && isDigit(v[5]) && v[6] == UInt8(ascii: ".") && isDigit(v[7])
            throw wellFormed ? .versionNotSupported : .badRequest("bad request line (expected HTTP/1.1 as the version)")
        }
        guard parts[0].allSatisfy(isTokenByte) else { throw .badRequest("bad request line (method is not a token)") }
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = String(decoding: parts[1], as: UTF8.self)
        return try HTTPRequest(method: method, target: target, version: version)
    }

    /// `name: value` (RFC 9112 §5): name a token right before the colon, value trimmed.
    static func parseHeader(_ content: ArraySlice<UInt8>) throws(HTTPError) -> (name: String, value: String) {
        if let first = content.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
            throw .badRequest("header line starts with whitespace (obsolete line folding is not accepted; send each header on one line)")
        }
        guard let colon = content.firstIndex(of: UInt8(ascii: ":")) else {
            throw .badRequest("header line without a colon")
        }
        let nameBytes = content[..<colon]
        if nameBytes.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
            throw .badRequest("whitespace before the colon of a header name")
        }
        guard !nameBytes.isEmpty, nameBytes.allSatisfy(isTokenByte) else { throw .badRequest("bad header name") }
        let name = String(decoding: nameBytes, as: UTF8.self)
        var value = content[(colon + 1)...]
        while let b = value.first, b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { value = value.dropFirst() }
        while let b = value.last, b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { value = value.dropLast() }
        if value.contains(where: { ($0 < 0x20 && $0 != UInt8(ascii: "\t")) || $0 == 0x7F }) {
            throw .badRequest("header \(name) contains a control character (CR, LF or NUL)")
        }
        // Field values are ASCII in practice; other bytes are read as UTF-8 when they are,
        // else as ISO-8859-1, the historical charset (RFC 9110 §5.5), never as replacement marks.
        let text = String(validating: value, as: UTF8.self)
            ?? String(String.UnicodeScalarView(value.map { Unicode.Scalar($0) }))
        return (name, text)
    }

    // MARK: Bodies

    /// Decides how the body is framed (RFC 9112 §6.3) once the headers are complete.
    private mutating func headersComplete(into done: inout [HTTPRequest]) throws(HTTPError) {
        guard let request = current else { return }
        let hosts = request.headerValues("Host")
        if hosts.count > 1 { throw .badRequest("more than one Host header") }
        if hosts.isEmpty && request.version == "HTTP/1.1" { throw .badRequest("missing Host header (required in HTTP/1.1)") }

        let transferEncodings = request.headerValues("Transfer-Encoding")
        let contentLengths = request.headerValues("Content-Length")
        if !transferEncodings.isEmpty && !contentLengths.isEmpty {
            throw .badRequest("both Content-Length and Transfer-Encoding sent; send only one")
        }
        if !transferEncodings.isEmpty {
            if request.version == "HTTP/1.0" { throw .badRequest("Transfer-Encoding is not allowed in HTTP/1.0") }
            let coding = transferEncodings.joined(separator: ", ")
            guard transferEncodings.count == 1, coding.trimmingASCIIWhitespace.lowercased() == "chunked" else {
                throw .transferEncodingNotSupported(coding)
            }
            headerBytes = 0
            headerCount = 0
            state = .chunkSize
            return
        }
        let length = try Self.contentLength(contentLengths, limit: limits.maxBodyBytes)
        if length == 0 {
            complete(into: &done)
        } else {
            current?.body.reserveCapacity(length)
            state = .fixedBody(remaining: length)
        }
    }

    /// The body length from every Content-Length line: digits only, all values equal
    /// (`5, 5` is one value sent twice), at most `limit`. 0 when there is none.
    static func contentLength(_ values: [String], limit: Int) throws(HTTPError) -> Int {
        var length: Int?
        for element in values.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let digits = element.trimmingASCIIWhitespace
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw .badRequest("bad Content-Length (digits only)")
            }
            // Compared without leading zeros, so a value too long for Int still compares.
            let significant = digits.drop { $0 == "0" }
            let value = significant.count > 18 ? Int.max : Int(significant) ?? 0
            if let length, length != value { throw .badRequest("conflicting Content-Length values") }
            length = value
        }
        if let length, length > limit { throw .bodyTooLarge(limit: limit) }
        return length ?? 0
    }

    /// `hex-size [; extensions]`; a size of 0 ends the body, trailers follow.
    private mutating func chunkSizeLine(_ content: ArraySlice<UInt8>) throws(HTTPError) {
        let received = current?.body.count ?? 0
        var size = 0
        var i = content.startIndex
        while i < content.endIndex, let digit = HTTPRequestTarget.hexValue(content[i]) {
            size = size * 16 + Int(digit)
            // Checked per digit, so no size, however many digits, can overflow.
            if received + size > limits.maxBodyBytes { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
            i += 1
        }
        guard i > content.startIndex else { throw .badRequest("bad chunk size (hex digits expected)") }
        var rest = content[i...]
        while let b = rest.first, b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { rest = rest.dropFirst() }
        if let b = rest.first {
            guard b == UInt8(ascii: ";"), !rest.contains(where: { ($0 < 0x20 && $0 != UInt8(ascii: "\t")) || $0 == 0x7F }) else {
                throw .badRequest("bad chunk size (hex digits, then optional ;extensions)")
            }
        }
        state = size == 0 ? .trailers : .chunkData(remaining: size)
    }

    /// Hands over the request and gets ready for the next one.
    private mutating func complete(into done: inout [HTTPRequest]) {
        guard let request = current else { return }
        done.append(request)
        current = nil
        blankLines = 0
        headerBytes = 0
        headerCount = 0
        state = request.isWebSocketUpgrade ? .upgraded : .requestLine
    }

    /// tchar (RFC 9110 §5.6.2): what method and header names are made of.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
