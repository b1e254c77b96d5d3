import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

/// A blocking client of kefu serve's HTTP channel for the benchmarks that follow one
/// conversation at a time: requests on a keep-alive connection, or a customer's WebSocket.
/// Every read waits at most `timeout` seconds, so a server that stops answering fails the run.
final class WebClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 16384)

    init(_ address: Socket.Address, timeout: Int = 10) throws {
        fd = try Socket.connect(address)
        var value = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw BenchError("the server closed the connection") }
            sent += n
        }
    }

    /// One request and its response (status and body).
    func request(_ method: String, _ target: String, token: String? = nil, body: String? = nil) throws -> (status: Int, body: [UInt8]) {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: kefu\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if body != nil { head += "Content-Type: application/json\r\n" }
        if body != nil || method == "POST" { head += "Content-Length: \(body?.utf8.count ?? 0)\r\n" }
        try send(Array((head + "\r\n" + (body ?? "")).utf8))
        let (length, headText) = try read { HTTPFraming.message(in: $0) }
        let response = Array(buffer[..<length])
        buffer.removeFirst(length)
        return (HTTPFraming.status(headText), Array(response[headText.utf8.count...]))
    }

    /// A JSON object answered to a request, or an error naming the status.
    func object(_ method: String, _ target: String, token: String? = nil, body: String? = nil) throws -> [String: Any] {
        let (status, body) = try request(method, target, token: token, body: body)
        guard (200..<300).contains(status), let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw BenchError("\(method) \(target): \(status) \(String(decoding: body, as: UTF8.self))")
        }
        return object
    }

    /// Opens a WebSocket on `target` (a browser's handshake); throws unless the server switches.
    func upgrade(_ target: String) throws {
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let (status, _) = try request("GET", target, body: nil, headers: "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n")
        guard status == 101 else { throw BenchError("GET \(target): \(status), not 101 Switching Protocols") }
    }

    private func request(_ method: String, _ target: String, body: String?, headers: String) throws -> (status: Int, body: [UInt8]) {
        try send(Array("\(method) \(target) HTTP/1.1\r\nHost: kefu\r\n\(headers)\r\n".utf8))
        let (length, headText) = try read { HTTPFraming.message(in: $0) }
        buffer.removeFirst(length)
        return (HTTPFraming.status(headText), [])
    }

    /// Sends one text message (masked, as clients must).
    func sendText(_ text: String) throws { try send(WebSocketFrames.masked(opcode: 1, Array(text.utf8))) }

    /// The next text message from the server; pings are answered, other control frames skipped.
    func text() throws -> String {
        while true {
            let (length, opcode, payload) = try read { WebSocketFrames.next(in: $0) }
            buffer.removeFirst(length)
            switch opcode {
            case 1: return String(decoding: payload, as: UTF8.self)
            case 8: throw BenchError("the server closed the WebSocket")
            case 9: try send(WebSocketFrames.masked(opcode: 10, payload))
            default: continue
            }
        }
    }

    /// The next text message as a JSON object.
    func item() throws -> [String: Any] {
        let text = try text()
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { throw BenchError("not JSON: \(text)") }
        return object
    }

    /// Reads until `complete` finds a whole message at the start of the buffer.
    private func read<T>(_ complete: ([UInt8]) -> T?) throws -> T {
        while true {
            if let found = complete(buffer) { return found }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw BenchError(n == 0 ? "the server closed the connection" : "no answer within the timeout") }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}

/// WebSocket frames as a client writes and reads them (RFC 6455 §5).
enum WebSocketFrames {
    /// A client frame: FIN set, masked.
    static func masked(opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode]
        switch payload.count {
        case 0...125: frame.append(0x80 | UInt8(payload.count))
        case 126...0xFFFF: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: frame.append(0x80 | 127); for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: payload.count >> shift)) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        frame += payload.enumerated().map { $1 ^ mask[$0 & 3] }
        return frame
    }

    /// The first complete server frame (unmasked) at the start of `bytes`: its length,
    /// opcode and payload; nil while incomplete.
    static func next(in bytes: [UInt8]) -> (length: Int, opcode: UInt8, payload: [UInt8])? {
        guard bytes.count >= 2 else { return nil }
        var header = 2
        var length = Int(bytes[1] & 0x7F)
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            header = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
            header = 10
        }
        guard bytes.count >= header + length else { return nil }
        return (header + length, bytes[0] & 0x0F, Array(bytes[header..<(header + length)]))
    }
}
