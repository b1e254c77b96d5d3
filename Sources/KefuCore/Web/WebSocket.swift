/// The server's side of WebSocket (RFC 6455): the opening handshake and the frames the
/// server sends. Frames from clients are read by `WebSocketParser`.
///
/// Kefu negotiates no extensions (so no compression, and RSV bits stay errors) and no
/// subprotocols: a chat message is one text frame of JSON.
enum WebSocket {
    /// The fixed GUID of RFC 6455 §1.3 that the accept value is computed with.
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// base64(SHA-1(key + GUID)), the `Sec-WebSocket-Accept` that proves to the client the
    /// server understood the handshake (RFC 6455 §4.2.2). RFC 6455 §1.3's example: key
    /// `dGhlIHNhbXBsZSBub25jZQ==` gives `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
    static func acceptValue(forKey key: String) -> String {
        Base64.encode(SHA1.hash(Array((key + guid).utf8)))
    }

    /// What is wrong with `request` as an opening handshake (RFC 6455 §4.2.1), or nil when
    /// it is a valid one. 426 (with `handshakeRefusal`'s headers) tells a client which
    /// upgrade to ask for; 400 means the request is broken.
    static func handshakeProblem(_ request: HTTPRequest) -> HTTPError? {
        if request.method != "GET" { return .badRequest("a WebSocket handshake must be a GET request") }
        if request.version != "HTTP/1.1" { return .badRequest("a WebSocket handshake needs HTTP/1.1") }
        guard request.asksForWebSocket, request.headerTokens("Connection").contains("upgrade") else {
            return HTTPError(status: 426, message: "this endpoint speaks WebSocket: send Upgrade: websocket and Connection: Upgrade")
        }
        let versions = request.headerTokens("Sec-WebSocket-Version")
        guard versions == ["13"] else {
            let sent = versions.isEmpty ? "missing" : "\(versions.joined(separator: ", ").prefix(32)) not supported"
            return HTTPError(status: 426, message: "Sec-WebSocket-Version \(sent) (use 13)")
        }
        let keys = request.headerValues("Sec-WebSocket-Key")
        guard keys.count == 1, let key = keys.first, Base64.decode(key)?.count == 16 else {
            return .badRequest("Sec-WebSocket-Key must be sent once, as 16 random bytes in Base64")
        }
        return nil
    }

    /// The 101 Switching Protocols response that completes the handshake; throws
    /// `handshakeProblem`'s error (answer it with `handshakeRefusal`).
    static func handshakeResponse(for request: HTTPRequest) throws(HTTPError) -> [UInt8] {
        if let problem = handshakeProblem(request) { throw problem }
        let key = request.header("Sec-WebSocket-Key") ?? ""
        let head = "HTTP/1.1 101 Switching Protocols\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: \(acceptValue(forKey: key))\r\n\r\n"
        return Array(head.utf8)
    }

    /// The error response for a refused handshake; a 426 also names the upgrade and version
    /// the server speaks (RFC 9110 §15.5.22, RFC 6455 §4.4).
    static func handshakeRefusal(_ error: HTTPError) -> HTTPResponse {
        var response = HTTPResponse.error(error)
        if error.status == 426 {
            response.headers += [("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
        }
        return response
    }

    enum Opcode: UInt8, Sendable {
        case continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10

        /// Close, ping and pong: at most 125 bytes, never fragmented (RFC 6455 §5.5).
        var isControl: Bool { rawValue >= 8 }
    }

    /// Largest payload of a control frame.
    static let maxControlPayload = 125

    /// A server→client frame: FIN set, unmasked (servers must not mask, RFC 6455 §5.1),
    /// length in 7, 16 or 64 bits as the payload needs. A control frame's payload is cut to
    /// 125 bytes, since a longer one would make the client fail the connection.
    static func frame(_ opcode: Opcode, _ payload: [UInt8]) -> [UInt8] {
        let payload = opcode.isControl && payload.count > maxControlPayload ? Array(payload.prefix(maxControlPayload)) : payload
        var out: [UInt8] = [0x80 | opcode.rawValue]
        out.reserveCapacity(payload.count + 10)
        switch payload.count {
        case 0...125:
            out.append(UInt8(payload.count))
        case 126...0xFFFF:
            out.append(126)
            out.append(UInt8(truncatingIfNeeded: payload.count >> 8))
            out.append(UInt8(truncatingIfNeeded: payload.count))
        default:
            out.append(127)
            let length = UInt64(payload.count)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
        }
        out.append(contentsOf: payload)
        return out
    }

    /// One text message in one frame.
    static func textFrame(_ text: String) -> [UInt8] { frame(.text, Array(text.utf8)) }

    /// A close frame: the code, then the reason cut to fit 125 bytes without splitting a
    /// character. Codes 1005, 1006 and 1015 are never sent (RFC 6455 §7.4.1); that is the
    /// caller's to respect.
    static func closeFrame(code: UInt16, reason: String) -> [UInt8] {
        var payload: [UInt8] = [UInt8(truncatingIfNeeded: code >> 8), UInt8(truncatingIfNeeded: code)]
        var room = maxControlPayload - 2
        for scalar in reason.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            guard bytes.count <= room else { break }
            payload += bytes
            room -= bytes.count
        }
        return frame(.close, payload)
    }

    /// The close frame that answers a protocol error found by `WebSocketParser`.
    static func closeFrame(for error: WebSocketError) -> [UInt8] {
        closeFrame(code: error.closeCode, reason: error.reason)
    }
}
