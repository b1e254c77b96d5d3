import Foundation
@testable import KefuCore

/// A blocking HTTP/1.1, event-stream and WebSocket client for the tests of the HTTP channel:
/// one TCP connection, requests written whole, answers read by `Content-Length`.
final class WebTestClient {
    struct Response {
        let status: Int
        let headers: [String: String]
        let body: [UInt8]
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
        var items: [[String: Any]] { json?["items"] as? [[String: Any]] ?? [] }
    }

    let fd: Int32
    private var buffer: [UInt8] = []

    init(_ address: Socket.Address) throws {
        fd = try Socket.connect(address)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(fd) }

    func sendBytes(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Writes one request; `json` becomes the body.
    func send(_ method: String, _ target: String, token: String? = nil, json: [String: Any]? = nil,
              body: [UInt8]? = nil, headers: [String: String] = [:]) {
        let payload = body ?? json.map { Array(try! JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys])) } ?? []
        var head = "\(method) \(target) HTTP/1.1\r\nHost: test\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !payload.isEmpty || method == "POST" { head += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n" }
        sendBytes(Array((head + "\r\n").utf8) + payload)
    }

    func request(_ method: String, _ target: String, token: String? = nil, json: [String: Any]? = nil,
                 body: [UInt8]? = nil, headers: [String: String] = [:]) -> Response? {
        send(method, target, token: token, json: json, body: body, headers: headers)
        return response()
    }

    /// The next response, or nil on timeout or close.
    func response() -> Response? {
        guard let head = read(until: [0x0D, 0x0A, 0x0D, 0x0A]) else { return nil }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard let body = read(count: length) else { return nil }
        return Response(status: status, headers: headers, body: body)
    }

    /// The next server-sent event's `id` and `data` (comments skipped), or nil.
    func event() -> (id: String?, data: String)? {
        while let block = read(until: [0x0A, 0x0A]) {
            var id: String?
            var data: [String] = []
            for line in String(decoding: block, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
            }
            if !data.isEmpty { return (id, data.joined(separator: "\n")) }
        }
        return nil
    }

    /// The next event's data as an item.
    func eventItem() -> [String: Any]? {
        event().flatMap { (try? JSONSerialization.jsonObject(with: Data($0.data.utf8))) as? [String: Any] }
    }

    // MARK: WebSocket

    /// Sends the handshake for `target`; returns the 101 response (or whatever came).
    func upgrade(_ target: String) -> Response? {
        send("GET", target, headers: ["Upgrade": "websocket", "Connection": "Upgrade",
                                      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"])
        return response()
    }

    /// A client frame: masked unless told otherwise, as RFC 6455 requires of clients.
    func sendFrame(opcode: UInt8, _ payload: [UInt8], masked: Bool = true, fin: Bool = true) {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            frame.append(maskBit | UInt8(payload.count))
        } else {
            frame.append(maskBit | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        if masked { frame += mask }
        frame += payload.enumerated().map { masked ? $1 ^ mask[$0 % 4] : $1 }
        sendBytes(frame)
    }

    func sendText(_ text: String) { sendFrame(opcode: 1, Array(text.utf8)) }
    func sendJSON(_ object: [String: Any]) {
        sendText(String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }

    /// The next server frame: opcode and payload (server frames are never masked).
    func frame() -> (opcode: UInt8, payload: [UInt8])? {
        guard let head = read(count: 2) else { return nil }
        var length = Int(head[1] & 0x7F)
        if length == 126 {
            guard let ext = read(count: 2) else { return nil }
            length = Int(ext[0]) << 8 | Int(ext[1])
        } else if length == 127 {
            guard let ext = read(count: 8) else { return nil }
            length = ext.reduce(0) { $0 << 8 | Int($1) }
        }
        guard let payload = read(count: length) else { return nil }
        return (head[0] & 0x0F, payload)
    }

    /// The next text frame (pings answered, other control frames skipped), or nil.
    func text() -> String? {
        while let (opcode, payload) = frame() {
            if opcode == 1 { return String(decoding: payload, as: UTF8.self) }
            if opcode == 8 { return nil }
            if opcode == 9 { sendFrame(opcode: 10, payload) }
        }
        return nil
    }

    func textObject() -> [String: Any]? {
        text().flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }

    /// The close frame's code, skipping data frames, or nil.
    func closeCode() -> UInt16? {
        while let (opcode, payload) = frame() {
            if opcode == 8 { return payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : 1005 }
        }
        return nil
    }

    // MARK: Reading

    private func read(until marker: [UInt8]) -> [UInt8]? {
        var from = 0
        while true {
            if buffer.count >= marker.count {
                for i in from...(buffer.count - marker.count) where buffer[i] == marker[0] && Array(buffer[i..<(i + marker.count)]) == marker {
                    let out = Array(buffer[..<i])
                    buffer.removeFirst(i + marker.count)
                    return out
                }
                from = buffer.count - marker.count + 1
            }
            guard fill() else { return nil }
        }
    }

    private func read(count: Int) -> [UInt8]? {
        while buffer.count < count { guard fill() else { return nil } }
        let out = Array(buffer[..<count])
        buffer.removeFirst(count)
        return out
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }
}
