import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 request to a webhook receiver and its status, within one deadline for
/// everything (resolving aside): connecting, sending, the status line. Non-blocking sockets
/// waited on with `poll`, which also watches an interrupt descriptor, so a shutdown does not
/// wait for a slow receiver.
enum OutboundHTTP {
    enum Outcome: Equatable, CustomStringConvertible {
        /// The receiver answered with this status.
        case status(Int)
        /// Nothing answered in time.
        case timedOut
        /// No connection (refused, unreachable, the name not found), or the receiver hung up
        /// or answered something that is not HTTP.
        case failed(String)
        /// The interrupt descriptor became readable (the server is stopping).
        case interrupted

        var description: String {
            switch self {
            case .status(let code): "HTTP \(code)"
            case .timedOut: "no answer in time"
            case .failed(let why): why
            case .interrupted: "interrupted"
            }
        }
    }

    /// The bytes of a `POST` with a JSON body and extra headers; `Connection: close`.
    static func post(_ target: WebhookTarget, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        var head = "POST \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nUser-Agent: kefu-webhooks\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    /// Sends `request` to the target and reads the status of the answer.
    static func send(_ request: [UInt8], to target: WebhookTarget, timeout: TimeInterval, interrupt: Int32) -> Outcome {
        let deadline = Date().addingTimeInterval(timeout)
        let fd: Int32
        switch connect(target, deadline: deadline, interrupt: interrupt) {
        case .success(let connected): fd = connected
        case .failure(let outcome): return outcome
        }
        defer { close(fd) }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && errno == EINTR { continue }
            guard n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) else {
                return .failed("the receiver closed the connection while the request was sent (\(String(cString: strerror(errno))))")
            }
            if let stop = wait(fd, for: Int16(POLLOUT), until: deadline, interrupt: interrupt) { return stop }
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            switch statusCode(in: received) {
            case .status(let code): return .status(code)
            case .malformed: return .failed("the answer is not HTTP")
            case .needMore: break
            }
            guard received.count < 64 * 1024 else { return .failed("the answer's head is over 64 KiB") }
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { received.append(contentsOf: chunk[0..<n]); continue }
            if n == 0 { return .failed("the receiver closed the connection without an answer") }
            if errno == EINTR { continue }
            guard errno == EAGAIN || errno == EWOULDBLOCK else {
                return .failed("reading the answer failed (\(String(cString: strerror(errno))))")
            }
            if let stop = wait(fd, for: Int16(POLLIN), until: deadline, interrupt: interrupt) { return stop }
        }
    }

    enum StatusParse: Equatable { case needMore, status(Int), malformed }

    /// The status of the first final answer in `bytes`: `HTTP/1.x NNN …`; informational (1xx)
    /// answers before it are skipped whole.
    static func statusCode(in bytes: [UInt8]) -> StatusParse {
        var start = 0
        while true {
            let rest = bytes[start...]
            guard let lineEnd = rest.firstIndex(of: 0x0A) else {
                // Enough to tell it is not HTTP without waiting for more.
                let prefix = Array("HTTP/1.".utf8)
                let seen = Array(rest.prefix(prefix.count))
                return seen == Array(prefix.prefix(seen.count)) ? .needMore : .malformed
            }
            let line = String(decoding: rest[..<lineEnd], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let code = Int(parts[1]), code >= 100 else {
                return .malformed
            }
            guard code >= 200 else {
                // Skip the informational answer's headers up to its empty line.
                var i = lineEnd + 1
                var found = false
                while let next = bytes[i...].firstIndex(of: 0x0A) {
                    let header = bytes[i..<next]
                    i = next + 1
                    if header.isEmpty || header == [0x0D] { found = true; break }
                }
                guard found else { return .needMore }
                start = i
                continue
            }
            return .status(code)
        }
    }

    // MARK: Sockets

    enum ConnectResult { case success(Int32), failure(Outcome) }

    /// A connected non-blocking socket to the first of the host's addresses that takes it.
    private static func connect(_ target: WebhookTarget, deadline: Date, interrupt: Int32) -> ConnectResult {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard resolved == 0, let first = list else {
            return .failure(.failed("cannot resolve \(target.host): \(String(cString: gai_strerror(resolved)))"))
        }
        defer { freeaddrinfo(list) }
        var last = Outcome.failed("no address for \(target.host)")
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next {
            next = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { last = .failed("socket: \(String(cString: strerror(errno)))"); continue }
            var yes: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                guard errno == EINPROGRESS || errno == EINTR else {
                    last = .failed("cannot connect to \(target.host):\(target.port): \(String(cString: strerror(errno)))")
                    close(fd)
                    continue
                }
                if let stop = wait(fd, for: Int16(POLLOUT), until: deadline, interrupt: interrupt) {
                    close(fd)
                    return .failure(stop)
                }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                guard error == 0 else {
                    last = .failed("cannot connect to \(target.host):\(target.port): \(String(cString: strerror(error)))")
                    close(fd)
                    continue
                }
            }
            return .success(fd)
        }
        return .failure(last)
    }

    /// Waits for `events` on `fd`; nil when ready (or failed: the next call says how),
    /// `.timedOut` past the deadline, `.interrupted` when `interrupt` is readable.
    private static func wait(_ fd: Int32, for events: Int16, until deadline: Date, interrupt: Int32) -> Outcome? {
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return .timedOut }
            var fds = [pollfd(fd: fd, events: events, revents: 0), pollfd(fd: interrupt, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, interrupt >= 0 ? 2 : 1, Int32(min(left * 1000 + 1, 60_000)))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failed("poll: \(String(cString: strerror(errno)))") }
            if fds[1].revents != 0 && interrupt >= 0 { return .interrupted }
            if fds[0].revents != 0 { return nil }
        }
    }
}
