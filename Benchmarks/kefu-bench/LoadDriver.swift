import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

/// How the load generator speaks to a server: the bytes of each message and where an answer
/// ends. One driver (`drive`) serves every protocol, kefu's and the do-nothing floors'.
struct Wire: Sendable {
    /// The bytes of connection `client`'s message number `n` (from 0), saying `text`.
    let request: @Sendable (_ client: Int, _ n: Int, _ text: String) -> [UInt8]
    /// The length of the first complete answer at the start of `buffer` and whether it is a
    /// success; nil while it is incomplete.
    let answer: @Sendable (_ buffer: [UInt8]) -> (length: Int, ok: Bool)?

    /// The plain customer protocol: a line each; a reply ends with an empty line.
    static let plainLines = Wire(request: { _, _, text in Array((text + "\n").utf8) },
                                 answer: { findBlankLine($0).map { ($0, true) } })

    /// JSON Lines, one session per connection (`prefix-client`); a reply is one line.
    static func jsonLines(prefix: String) -> Wire {
        Wire(request: { client, _, text in Array("{\"session\":\"\(prefix)-\(client)\",\"text\":\(JSONText.quoted(text))}\n".utf8) },
             answer: { buffer in buffer.firstIndex(of: 0x0A).map { ($0 + 1, true) } })
    }

    /// HTTP/1.1 keep-alive: `POST /v1/messages` with the integration token, one conversation
    /// per connection (`prefix-client`); a 2xx answer is a success.
    static func httpMessages(token: String, prefix: String) -> Wire {
        Wire(request: { client, n, text in
            let body = "{\"conversation\":\"\(prefix)-\(client)\",\"text\":\(JSONText.quoted(text)),\"client_message_id\":\"m\(n)\"}"
            return Array(("POST /v1/messages HTTP/1.1\r\nHost: kefu\r\nAuthorization: Bearer \(token)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
        }, answer: { buffer in
            HTTPFraming.message(in: buffer).map { ($0.length, (200..<300).contains(HTTPFraming.status($0.head))) }
        })
    }
}

func findBlankLine(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 2 else { return nil }
    for i in 1..<bytes.count where bytes[i] == 0x0A && bytes[i - 1] == 0x0A { return i + 1 }
    return nil
}

/// HTTP/1.1 messages as the benchmarks' clients and floor server read them: a head up to the
/// empty line, then `Content-Length` bytes (no chunked bodies: neither kefu nor the floor sends them).
enum HTTPFraming {
    /// The length of the first complete message at the start of `bytes` and its head; nil
    /// while incomplete.
    static func message(in bytes: [UInt8]) -> (length: Int, head: String)? {
        guard bytes.count >= 4 else { return nil }
        var end = -1
        for i in 3..<bytes.count where bytes[i] == 0x0A && bytes[i - 1] == 0x0D && bytes[i - 2] == 0x0A && bytes[i - 3] == 0x0D {
            end = i + 1
            break
        }
        guard end > 0 else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return bytes.count >= end + length ? (end + length, head) : nil
    }

    /// The status of a response head (`HTTP/1.1 200 OK`), 0 if there is none.
    static func status(_ head: String) -> Int {
        head.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
    }
}

struct LoadResult: Sendable {
    var sent = 0, answered = 0, errors = 0
    var latenciesMs: [Double] = []
    /// The latencies of each connection's first message (a new conversation, in a burst all at once).
    var firstLatenciesMs: [Double] = []
    var seconds = 0.0
    var p50: Double { Measure.quantile(latenciesMs, 0.5) }
    var p99: Double { Measure.quantile(latenciesMs, 0.99) }
    var firstP99: Double { Measure.quantile(firstLatenciesMs, 0.99) }
    var rate: Double { seconds > 0 ? Double(answered) / seconds : 0 }
}

/// Drives `address` with `connections` connections of `wire`, `messages` messages each, from
/// one thread on epoll (a poll() scan of 2,000 descriptors per wake-up cost the generator more
/// than half a core, which it took from the server it measures).
///
/// - `rate` messages per second offered in all, round-robin over the connections: an open loop,
///   as real customers type, not a closed loop that only measures queueing. A connection still
///   waiting for its previous answer owes the message and sends it when the answer comes.
/// - `rate` `.infinity`: a burst: every connection sends its first message at the same moment,
///   then each its next as soon as its answer came (a closed loop per connection).
/// - `slowClients`, `floodClients` (line protocols): connections that never read their replies,
///   and that send as fast as they can, beside the measured ones.
/// - `stop`: asked on every turn of the loop; once it says so, nothing more is sent, and the run
///   ends when the answers in flight are in (a background load for as long as something else runs).
func drive(_ address: Socket.Address, wire: Wire, connections: Int, messages: Int, rate: Double, texts: [String],
           slowClients: Int = 0, floodClients: Int = 0, stop: (@Sendable () -> Bool)? = nil) throws -> LoadResult {
    var fds: [Int32] = []
    defer { for fd in fds { close(fd) } }
    for _ in 0..<connections {
        let fd = try Socket.connect(address)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        fds.append(fd)
    }
    var slow: [Int32] = [], flood: [Int32] = []
    defer { for fd in slow + flood { close(fd) } }
    for _ in 0..<slowClients { slow.append(try Socket.connect(address)) }
    for _ in 0..<floodClients {
        let fd = try Socket.connect(address)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        flood.append(fd)
    }
    let longMessage = Array((String(repeating: "我的快递怎么还没到 ", count: 40) + "\n").utf8)
    let floodLine = Array(repeating: Array("退款\n".utf8), count: 64).flatMap { $0 }
    let noisy = !slow.isEmpty || !flood.isEmpty

    let poller = try Epoll(capacity: 4096)
    for (i, fd) in fds.enumerated() { try poller.register(fd, token: UInt64(i), for: .read) }
    // The schedule starts once every connection is open and accepted, so the run does not begin behind.
    let start = Measure.now() + 300_000_000
    var result = LoadResult()
    var sentAt = [UInt64](repeating: 0, count: connections)
    var waiting = [Bool](repeating: false, count: connections)
    var sentCount = [Int](repeating: 0, count: connections)
    var owed = [Int](repeating: 0, count: connections)
    var buffers = [[UInt8]](repeating: [], count: connections)
    var readBuffer = [UInt8](repeating: 0, count: 65536)
    var events: [Epoll.Event] = []
    var lastAnswer = start
    var active = connections
    var inFlight = 0
    var stopping = false
    let total = connections * messages
    var deadline = start + (rate.isFinite ? UInt64(Double(total) / rate * 3e9) : 0) + 60_000_000_000

    func trySend(_ i: Int, now: UInt64) -> Bool {
        guard !waiting[i], sentCount[i] < messages else { return false }
        let bytes = wire.request(i, sentCount[i], texts[(i * 7 + sentCount[i]) % texts.count])
        let n = bytes.withUnsafeBytes { send(fds[i], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n == bytes.count else { result.errors += 1; return false }
        sentAt[i] = now
        waiting[i] = true
        inFlight += 1
        sentCount[i] += 1
        result.sent += 1
        return true
    }
    // Sends go round-robin: the cursor says how many are due by now.
    var due = 0
    while active > 0 && Measure.now() < deadline {
        if !stopping, let stop, stop() {
            stopping = true
            deadline = min(deadline, Measure.now() + 10_000_000_000)
        }
        if stopping && inFlight == 0 { break }
        let now = Measure.now()
        if now > start && !stopping {
            let shouldHaveSent = rate.isFinite ? min(total, Int(Double(now - start) / 1e9 * rate)) : total
            while due < shouldHaveSent {
                let i = due % connections
                due += 1
                if !trySend(i, now: now) && waiting[i] { owed[i] += 1 }
            }
        }
        for fd in slow { _ = longMessage.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) } }
        for fd in flood { _ = floodLine.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) } }
        for fd in flood { while recv(fd, &readBuffer, readBuffer.count, Int32(MSG_DONTWAIT)) > 0 {} }
        poller.wait(timeoutMilliseconds: due < total || noisy ? 1 : 100, into: &events)
        for event in events {
            let i = Int(event.token)
            let n = readBuffer.withUnsafeMutableBytes { recv(fds[i], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { if n == 0 { result.errors += 1; poller.unregister(fds[i]); active -= 1 }; continue }
            buffers[i].append(contentsOf: readBuffer[0..<n])
            while let (length, ok) = wire.answer(buffers[i]) {
                buffers[i].removeFirst(length)
                guard waiting[i] else { continue }
                lastAnswer = Measure.now()
                if ok {
                    let latency = Double(lastAnswer - sentAt[i]) / 1e6
                    result.latenciesMs.append(latency)
                    if sentCount[i] == 1 { result.firstLatenciesMs.append(latency) }
                    result.answered += 1
                } else {
                    result.errors += 1
                }
                waiting[i] = false
                inFlight -= 1
                if sentCount[i] == messages {
                    active -= 1
                } else if owed[i] > 0 && !stopping && trySend(i, now: lastAnswer) {
                    owed[i] -= 1
                }
            }
        }
    }
    // Throughput over the run itself: from the first scheduled send to the last answer.
    result.seconds = Double(lastAnswer - start) / 1e9
    result.latenciesMs.sort()
    result.firstLatenciesMs.sort()
    return result
}
