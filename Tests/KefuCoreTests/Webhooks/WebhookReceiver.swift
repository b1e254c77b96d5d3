import Foundation
import Testing
@testable import KefuCore
#if canImport(Glibc)
import Glibc
#endif

/// A tiny webhook receiver on loopback: answers every POST with `status` (200 unless a test
/// says otherwise) and keeps what it got, for the test to read.
final class WebhookReceiver: @unchecked Sendable {
    struct Request {
        let method: String
        let path: String
        /// Header names lower-cased.
        let headers: [String: String]
        let body: [UInt8]
        /// What the receiver answered.
        let status: Int

        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
        var event: String? { json["event"] as? String }
        var id: String? { json["id"] as? String }
    }

    let port: UInt16
    var url: String { "http://127.0.0.1:\(port)/hooks/kefu?source=test" }
    private let listener: Int32
    private let condition = NSCondition()
    private var received: [Request] = []
    private var stopping = false
    private var statuses: [Int] = []
    private let finished = DispatchSemaphore(value: 0)

    /// Listens on `port` (0: a free one) and starts answering.
    init(port: UInt16 = 0) throws {
        let (fd, bound) = try Socket.listen(Socket.Address(host: "127.0.0.1", port: port))
        listener = fd
        self.port = bound.port
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// A port where nothing listens now (a receiver that is down), free to listen on later.
    static func closedPort() throws -> UInt16 {
        let receiver = try WebhookReceiver()
        receiver.stop()
        return receiver.port
    }

    /// The next requests are answered with these statuses, in order; then 200 again.
    func answerNext(_ statuses: [Int]) { condition.withLock { self.statuses = statuses } }

    /// Stops listening: the port refuses connections from now on.
    func stop() {
        condition.withLock { stopping = true }
        finished.wait()
    }

    /// Everything received so far.
    var requests: [Request] { condition.withLock { received } }

    /// The requests answered 2xx, once `count` of them have arrived (or what there is at the deadline).
    func waitForAcknowledged(_ count: Int, seconds: TimeInterval = 30) -> [Request] {
        let deadline = Date().addingTimeInterval(seconds)
        return condition.withLock {
            while received.filter({ (200..<300).contains($0.status) }).count < count && Date() < deadline {
                _ = condition.wait(until: deadline)
            }
            return received.filter { (200..<300).contains($0.status) }
        }
    }

    private func serve() {
        defer {
            close(listener)
            finished.signal()
        }
        while !condition.withLock({ stopping }) {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 50) > 0, let fd = try? Socket.accept(listener) else { continue }
            answer(fd)
            close(fd)
        }
    }

    private func answer(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var headEnd: Int?
        var length = 0
        while true {
            if headEnd == nil, let end = find([0x0D, 0x0A, 0x0D, 0x0A], in: bytes) {
                headEnd = end + 4
                let head = String(decoding: bytes[..<end], as: UTF8.self)
                for line in head.split(separator: "\r\n").dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    if parts.count == 2, parts[0].lowercased() == "content-length" { length = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0 }
                }
            }
            if let headEnd, bytes.count >= headEnd + length { break }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            bytes.append(contentsOf: chunk[0..<n])
        }
        let head = String(decoding: bytes[..<headEnd!], as: UTF8.self).split(separator: "\r\n")
        let requestLine = head.first?.split(separator: " ") ?? []
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        let status = condition.withLock { statuses.isEmpty ? 200 : statuses.removeFirst() }
        let answer = Array("HTTP/1.1 \(status) \(status == 200 ? "OK" : "Not OK")\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = answer.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let request = Request(method: requestLine.first.map(String.init) ?? "", path: requestLine.count > 1 ? String(requestLine[1]) : "",
                              headers: headers, body: Array(bytes[headEnd!..<(headEnd! + length)]), status: status)
        condition.withLock {
            received.append(request)
            condition.broadcast()
        }
    }

    private func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i }
        return nil
    }
}

extension RunningGateway {
    /// A gateway that posts webhooks to `urls`, signed with `secret`, retrying fast (tests
    /// wait for deliveries with a deadline, never for the real back-off).
    convenience init(folder: String = RunningGateway.dataFolder(), webhooks urls: [String], secret: String) throws {
        let targets = try urls.map { try WebhookTarget($0) }
        try self.init(folder: folder) { config in
            config.webhooks = targets
            config.webhookSecret = secret
            config.webhookPolicy = WebhookSender.Policy(firstDelay: 0.05, maxDelay: 0.4, jitter: 0.2, timeout: 2)
        }
    }

    /// Asks `STATS` until `condition` holds on its figures (or the deadline passes); returns the last figures.
    @discardableResult
    func waitForStats(asking agent: TestClient, seconds: TimeInterval = 30, until condition: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        var figures = try stats(agent)
        while !condition(figures) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            figures = try stats(agent)
        }
        return figures
    }
}
