import Testing
@testable import KefuCore

/// WebSocket: the handshake, the frames the server sends, and the client frames the parser
/// accepts or fails the connection for, with the close code RFC 6455 asks for.
@Suite("Web: WebSocket handshake, frames and parser")
struct WebSocketCodecTests {
    static let mask: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]

    /// A client frame: masked unless told otherwise.
    static func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let m: UInt8 = masked ? 0x80 : 0
        switch payload.count {
        case 0...125: out.append(m | UInt8(payload.count))
        case 126...0xFFFF: out += [m | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: out += [m | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        guard masked else { return out + payload }
        return out + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    }

    static func text(_ s: String, fin: Bool = true, opcode: UInt8 = 1) -> [UInt8] { clientFrame(opcode, Array(s.utf8), fin: fin) }

    static func events(_ bytes: [UInt8], limits: WebSocketLimits = WebSocketLimits()) throws(WebSocketError) -> [WebSocketEvent] {
        var parser = WebSocketParser(limits: limits)
        return try parser.feed(bytes[...])
    }

    /// The events, fed whole and byte by byte (both must agree), or the error both throw.
    static func outcome(_ bytes: [UInt8], limits: WebSocketLimits = WebSocketLimits()) -> Result<[WebSocketEvent], WebSocketError> {
        let whole = Result { () throws(WebSocketError) in try events(bytes, limits: limits) }
        var parser = WebSocketParser(limits: limits)
        var fed: [WebSocketEvent] = []
        var pieces = Result<[WebSocketEvent], WebSocketError>.success([])
        do throws(WebSocketError) {
            for b in bytes { fed += try parser.feed([b][...]) }
            pieces = .success(fed)
        } catch {
            pieces = .failure(error)
        }
        #expect(whole == pieces)
        return whole
    }

    static func closeCode(_ bytes: [UInt8]) -> UInt16? {
        if case .failure(let error) = outcome(bytes) { return error.closeCode }
        return nil
    }

    static func upgrade(_ headers: [(String, String)], method: String = "GET", version: String = "HTTP/1.1") throws -> HTTPRequest {
        try HTTPRequest(method: method, target: "/v1/ws", version: version, headers: [(name: "Host", value: "k")] + headers.map { (name: $0.0, value: $0.1) })
    }

    static let goodHeaders = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                              ("Sec-WebSocket-Version", "13")]

    // MARK: Handshake

    @Test("the accept value for RFC 6455's example key is the RFC's")
    func acceptValueRFCExample() {
        #expect(WebSocket.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("a valid handshake is answered with 101 Switching Protocols and the accept value")
    func handshakeResponse() throws {
        let request = try Self.upgrade(Self.goodHeaders)
        #expect(request.isWebSocketUpgrade && request.asksForWebSocket)
        let response = String(decoding: try WebSocket.handshakeResponse(for: request), as: UTF8.self)
        #expect(response == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
        let casual = try Self.upgrade([("upgrade", "WebSocket"), ("connection", "keep-alive, upgrade"),
                                       ("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAAAA=="), ("sec-websocket-version", "13")])
        #expect(casual.isWebSocketUpgrade)
    }

    @Test("a broken handshake is refused: bad or missing key 400, wrong version or no upgrade 426 with the version to use")
    func handshakeRefusals() throws {
        func status(_ change: (inout [(String, String)]) -> Void, method: String = "GET", version: String = "HTTP/1.1") throws -> Int? {
            var headers = Self.goodHeaders
            change(&headers)
            let request = try Self.upgrade(headers, method: method, version: version)
            #expect(!request.isWebSocketUpgrade)
            do { _ = try WebSocket.handshakeResponse(for: request) } catch { return error.status }
            return nil
        }
        #expect(try status { $0.removeAll { $0.0 == "Sec-WebSocket-Key" } } == 400)
        #expect(try status { $0[2].1 = Base64.encode([UInt8](repeating: 1, count: 15)) } == 400)
        #expect(try status { $0[2].1 = "not base64!" } == 400)
        #expect(try status { $0.append(("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==")) } == 400)
        #expect(try status { $0[3].1 = "8" } == 426)
        #expect(try status { $0.removeAll { $0.0 == "Sec-WebSocket-Version" } } == 426)
        #expect(try status { $0.removeAll { $0.0 == "Upgrade" } } == 426)
        #expect(try status { $0[1].1 = "keep-alive" } == 426)
        #expect(try status({ _ in }, method: "POST") == 400)
        #expect(try status({ _ in }, version: "HTTP/1.0") == 400)

        let refusal = WebSocket.handshakeRefusal(HTTPError(status: 426, message: "use 13"))
        let out = String(decoding: refusal.serialized(keepAlive: false), as: UTF8.self)
        #expect(out.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"))
        #expect(out.contains("\r\nSec-WebSocket-Version: 13\r\n") && out.contains("\r\nUpgrade: websocket\r\n"))
    }

    // MARK: Server frames

    @Test("server frames are unmasked with FIN set and 7, 16 or 64-bit lengths (RFC 6455 §5.7)")
    func serverFrames() {
        #expect(WebSocket.frame(.text, Array("Hello".utf8)) == [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
        #expect(WebSocket.textFrame("Hello") == [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
        #expect(WebSocket.frame(.ping, Array("Hello".utf8)) == [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
        let f256 = WebSocket.frame(.binary, [UInt8](repeating: 7, count: 256))
        #expect(Array(f256.prefix(4)) == [0x82, 0x7E, 0x01, 0x00] && f256.count == 260)
        let f64k = WebSocket.frame(.binary, [UInt8](repeating: 7, count: 65536))
        #expect(Array(f64k.prefix(10)) == [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00] && f64k.count == 65546)
        #expect(Array(WebSocket.frame(.text, [UInt8](repeating: 1, count: 125)).prefix(2)) == [0x81, 125])
        #expect(Array(WebSocket.frame(.text, [UInt8](repeating: 1, count: 65535)).prefix(4)) == [0x81, 126, 0xFF, 0xFF])
        #expect(WebSocket.frame(.pong, [UInt8](repeating: 1, count: 300)).count == 127)
    }

    @Test("a close frame carries the code and a reason cut to fit 125 bytes without splitting a character")
    func closeFrames() {
        #expect(WebSocket.closeFrame(code: 1000, reason: "bye") == [0x88, 0x05, 0x03, 0xE8, 0x62, 0x79, 0x65])
        let long = WebSocket.closeFrame(code: 1009, reason: String(repeating: "客", count: 60))
        #expect(long[1] == 2 + 41 * 3)
        #expect(String(validating: long[4...], as: UTF8.self) == String(repeating: "客", count: 41))
        #expect(WebSocket.closeFrame(for: .tooBig("x")) == [0x88, 0x03, 0x03, 0xF1, 0x78])
    }

    // MARK: Client frames

    @Test("RFC 6455's single-frame masked \"Hello\" is one text message")
    func rfcMaskedHello() {
        let frame: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        #expect(Self.outcome(frame) == .success([.text("Hello")]))
        #expect(Self.text("Hello") == frame)
    }

    @Test("unmasked client frames are a protocol error (1002), RFC 6455's unmasked and fragmented examples included")
    func unmaskedClientFrames() {
        #expect(Self.closeCode([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]) == 1002)
        #expect(Self.closeCode([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]) == 1002)
        #expect(Self.closeCode(Self.clientFrame(9, Array("Hello".utf8), masked: false)) == 1002)
    }

    @Test("masked ping and pong (RFC 6455's pong example) are handed over with their payloads")
    func pingAndPong() {
        #expect(Self.outcome([0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]) == .success([.pong(Array("Hello".utf8))]))
        #expect(Self.outcome(Self.clientFrame(9, Array("Hello".utf8))) == .success([.ping(Array("Hello".utf8))]))
        #expect(Self.outcome(Self.clientFrame(9, [])) == .success([.ping([])]))
    }

    @Test("256-byte and 64 KiB messages use 16 and 64-bit lengths and arrive whole")
    func extendedLengths() throws {
        let small = String(repeating: "a", count: 256)
        let frame256 = Self.text(small)
        #expect(Array(frame256.prefix(4)) == [0x81, 0xFE, 0x01, 0x00])
        #expect(Self.outcome(frame256) == .success([.text(small)]))
        let big = String(repeating: "b", count: 65536)
        let frame64k = Self.text(big)
        #expect(Array(frame64k.prefix(10)) == [0x81, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00])
        #expect(try Self.events(frame64k) == [.text(big)])
        var parser = WebSocketParser()
        var got: [WebSocketEvent] = []
        for b in frame64k { got += try parser.feed([b][...]) }
        #expect(got == [.text(big)])
    }

    @Test("a frame announcing more than the limit is refused with 1009 as soon as its length is read, nothing stored")
    func oversizedFrameRefusedBeforeAllocating() {
        var parser = WebSocketParser()
        let header: [UInt8] = [0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: WebSocketError.tooBig("frame larger than 65536 bytes; split the message")) { try parser.feed(header[...]) }
        #expect(parser.bufferedBytes == header.count, "only the header itself is held")
        #expect(Self.closeCode(Self.text(String(repeating: "c", count: 65537))) == 1009)
        #expect(Self.closeCode([0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1] + Self.mask) == 1002)
        var limits = WebSocketLimits()
        limits.maxFrameBytes = 10
        if case .failure(let error) = Self.outcome(Array(Self.text(String(repeating: "d", count: 11)).prefix(2)), limits: limits) {
            #expect(error.closeCode == 1009)
        } else {
            Issue.record("an 11-byte frame over a 10-byte limit must be refused at its second byte")
        }
    }

    @Test("a message over the message limit in fragments under the frame limit gets 1009")
    func oversizedFragmentedMessage() {
        var limits = WebSocketLimits()
        limits.maxMessageBytes = 10
        let bytes = Self.text("123456", fin: false) + Self.text("78901", fin: true, opcode: 0)
        if case .failure(let error) = Self.outcome(bytes, limits: limits) { #expect(error.closeCode == 1009) } else {
            Issue.record("expected 1009")
        }
    }

    @Test("a fragmented message is reassembled, with control frames between fragments handed over first")
    func fragmentedMessageWithControlFrames() {
        let bytes = Self.text("Hel", fin: false) + Self.clientFrame(9, Array("p".utf8)) + Self.text("", fin: false, opcode: 0)
            + Self.clientFrame(10, []) + Self.text("lo 客", fin: true, opcode: 0) + Self.text("next")
        #expect(Self.outcome(bytes) == .success([.ping(Array("p".utf8)), .pong([]), .text("Hello 客"), .text("next")]))
    }

    @Test("a character split across fragments is fine; invalid UTF-8 in a message gets 1007")
    func utf8AcrossFragmentsAndInvalid() {
        let ke = Array("客".utf8)
        let split = Self.clientFrame(1, Array(ke.prefix(1)), fin: false) + Self.clientFrame(0, Array(ke.dropFirst()))
        #expect(Self.outcome(split) == .success([.text("客")]))
        #expect(Self.closeCode(Self.clientFrame(1, [0x48, 0xC3, 0x28])) == 1007)
        #expect(Self.closeCode(Self.clientFrame(1, [0xED, 0xA0, 0x80])) == 1007, "a UTF-16 surrogate is not UTF-8")
        #expect(Self.closeCode(Self.clientFrame(1, [0xC3], fin: false) + Self.clientFrame(0, [])) == 1007)
    }

    @Test("frame sequence errors are 1002: continuation without start, new message mid-message")
    func sequenceErrors() {
        #expect(Self.closeCode(Self.text("lo", opcode: 0)) == 1002)
        #expect(Self.closeCode(Self.text("Hel", fin: false) + Self.text("lo")) == 1002)
    }

    @Test("reserved bits, unknown opcodes, fragmented or long control frames are 1002; binary is 1003")
    func headerErrors() {
        #expect(Self.closeCode([0xC1, 0x80] + Self.mask) == 1002)
        #expect(Self.closeCode([0x91, 0x80] + Self.mask) == 1002)
        for opcode: UInt8 in [3, 7, 0xB, 0xF] { #expect(Self.closeCode(Self.clientFrame(opcode, [])) == 1002, "\(opcode)") }
        #expect(Self.closeCode(Self.clientFrame(9, [], fin: false)) == 1002)
        #expect(Self.closeCode(Self.clientFrame(9, [UInt8](repeating: 0, count: 126))) == 1002)
        #expect(Self.closeCode(Self.clientFrame(2, [1, 2, 3])) == 1003)
    }

    @Test("close frames: no payload gives no code, valid codes and reasons are handed over, and later bytes are ignored")
    func closeFramesFromClient() {
        #expect(Self.outcome(Self.clientFrame(8, []) + Self.text("ignored")) == .success([.close(code: nil, reason: "")]))
        for code: UInt16 in [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999] {
            let payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array("再见".utf8)
            #expect(Self.outcome(Self.clientFrame(8, payload)) == .success([.close(code: code, reason: "再见")]), "\(code)")
        }
    }

    @Test("bad close codes and 1-byte close payloads are 1002; a reason that is not UTF-8 is 1007")
    func badCloseFrames() {
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] {
            #expect(Self.closeCode(Self.clientFrame(8, [UInt8(code >> 8), UInt8(code & 0xFF)])) == 1002, "\(code)")
        }
        #expect(Self.closeCode(Self.clientFrame(8, [0x03])) == 1002)
        #expect(Self.closeCode(Self.clientFrame(8, [0x03, 0xE8, 0xFF])) == 1007)
    }

    @Test("after an error the parser throws the same error again; bufferedBytes tracks a message in progress")
    func errorIsFinalAndBuffering() throws {
        var parser = WebSocketParser()
        _ = try parser.feed(Self.text("Hello", fin: false)[...])
        #expect(parser.bufferedBytes == 5)
        _ = try parser.feed(Self.text("abc", opcode: 0).prefix(4)[...])
        #expect(parser.bufferedBytes == 5 + 4, "the fragment so far and the next frame's header")
        var broken = WebSocketParser()
        #expect(throws: WebSocketError.protocolError("client frames must be masked")) { try broken.feed([0x81, 0x00][...]) }
        #expect(throws: WebSocketError.protocolError("client frames must be masked")) { try broken.feed(Self.text("ok")[...]) }
    }
}
