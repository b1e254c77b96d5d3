import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

/// The do-nothing responders that kefu's figures are put beside: epoll on one thread, every
/// complete request answered at once with a fixed answer and nothing else done. The floor any
/// server on this machine pays for the same traffic from the same client.
///
/// `kefu-bench echo-server`: JSON Lines; every line gets `{"session":"…"}` back.
func echoServer() -> Never {
    let key = Array("\"session\":\"".utf8)
    floorServer("echo") { buffer in
        var out: [UInt8] = []
        while let newline = buffer.firstIndex(of: 0x0A) {
            let line = buffer[..<newline]
            var session: ArraySlice<UInt8> = []
            if let start = line.firstRange(of: key)?.upperBound, let end = line[start...].firstIndex(of: 0x22) { session = line[start..<end] }
            out += Array("{\"session\":\"".utf8) + session + Array("\"}\n".utf8)
            buffer.removeSubrange(...newline)
        }
        return out
    }
}

/// `kefu-bench http-floor`: HTTP/1.1 keep-alive; every request (head and `Content-Length`
/// body) gets a fixed small JSON 200.
func httpFloorServer() -> Never {
    let body = #"{"conversation":"floor","items":[]}"#
    let response = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: keep-alive\r\n\r\n\(body)".utf8)
    floorServer("http-floor") { buffer in
        var out: [UInt8] = []
        while let (length, _) = HTTPFraming.message(in: buffer) {
            buffer.removeFirst(length)
            out += response
        }
        return out
    }
}

/// Prints `listening NAME HOST:PORT`, then answers each connection's complete requests with
/// `answer`, which takes them from the front of the connection's buffer.
private func floorServer(_ name: String, answer: (inout [UInt8]) -> [UInt8]) -> Never {
    Bench.raiseDescriptorLimit()
    Bench.run {
        let (listener, bound) = try Socket.listen(Socket.Address(host: "127.0.0.1", port: 0), backlog: 4096)
        print("listening \(name) \(bound)")
        fflush(nil)
        let poller = try Epoll(capacity: 4096)
        try poller.register(listener, token: UInt64.max, for: .read)
        var buffers: [Int32: [UInt8]] = [:]
        var events: [Epoll.Event] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            poller.wait(timeoutMilliseconds: 1000, into: &events)
            for event in events {
                if event.token == UInt64.max {
                    while true {
                        let fd = accept(listener, nil, nil)
                        if fd < 0 { break }
                        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                        var yes: Int32 = 1
                        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
                        try? poller.register(fd, token: UInt64(fd), for: .read)
                    }
                    continue
                }
                let fd = Int32(event.token)
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { poller.unregister(fd); close(fd); buffers[fd] = nil; continue }
                var buffer = buffers[fd, default: []]
                buffer.append(contentsOf: chunk[0..<n])
                let out = answer(&buffer)
                buffers[fd] = buffer
                _ = out.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    }
    exit(1)
}
