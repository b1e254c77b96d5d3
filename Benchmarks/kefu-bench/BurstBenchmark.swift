import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

/// `kefu-bench load --burst N`: N JSON Lines connections, all open, send their first message
/// at the same moment, then each its next message as soon as its reply came (a closed loop
/// per customer), M messages each. The same client drives a do-nothing responder (a child
/// `kefu-bench echo-server`: epoll, reads lines, answers each with its session and nothing
/// else) in the same run, so the ratio says what kefu's own work adds to a burst, on this
/// machine at this moment. Rounds alternate between the two, twice.
func burstBenchmark(connections: Int, messages: Int, kb: String, messagesFile: String) {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    do {
        let texts = try LabelledFile.read(messagesFile, labelKey: "text").filter {
            $0.fields["route"] == "answer" && !["greeting", "thanks", "goodbye"].contains($0.fields["topic"] ?? "")
        }.map(\.example.text).filter { !$0.contains("\n") && !$0.contains("\"") && !$0.contains("\\") }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let server = try ServerProcess(binary: here.appendingPathComponent("kefu"), kb: kb,
                                       options: ["--max-connections", "20000", "--rate", "50", "--max-sessions", "1000"])
        defer { server.stop() }
        let echo = try EchoProcess(binary: here.appendingPathComponent("kefu-bench"))
        defer { echo.stop() }
        print("burst: \(connections) JSON Lines connections send their first message at once, \(messages) messages each; kefu serve on \(server.customer), do-nothing responder on \(echo.address)")
        // Warm both (page cache, first allocations), then alternate.
        _ = try runBurst(echo.address, connections: 50, messages: 2, texts: texts, prefix: "warm")
        _ = try runBurst(server.customer, connections: 50, messages: 2, texts: texts, prefix: "warm")
        var kefu: [BurstResult] = [], nothing: [BurstResult] = []
        for round in 0..<2 {
            let e = try runBurst(echo.address, connections: connections, messages: messages, texts: texts, prefix: "r\(round)e")
            let k = try runBurst(server.customer, connections: connections, messages: messages, texts: texts, prefix: "r\(round)k")
            nothing.append(e)
            kefu.append(k)
            print(String(format: "round %d  do-nothing  p50 %.1f ms, p99 %.1f ms (first messages p99 %.1f ms), %d/%d answered",
                         round + 1, e.p50, e.p99, e.firstP99, e.answered, e.sent))
            print(String(format: "round %d  kefu serve  p50 %.1f ms, p99 %.1f ms (first messages p99 %.1f ms), %d/%d answered; p99 ratio %.2f×",
                         round + 1, k.p50, k.p99, k.firstP99, k.answered, k.sent, k.p99 / max(e.p99, 0.001)))
        }
        let ratio = kefu.map(\.p99).reduce(0, +) / max(nothing.map(\.p99).reduce(0, +), 0.001)
        print(String(format: "burst of %d: kefu p99 %.1f ms vs do-nothing %.1f ms (mean of rounds): %.2f× (target ≤ 1.5×)",
                     connections, kefu.map(\.p99).reduce(0, +) / 2, nothing.map(\.p99).reduce(0, +) / 2, ratio))
        print(String(format: "server RSS after the bursts: %.1f MiB", Double(server.residentKiB()) / 1024))
    } catch {
        FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
        exit(1)
    }
}

struct BurstResult {
    var sent = 0, answered = 0
    var latencies: [Double] = []
    var firstLatencies: [Double] = []
    var p50: Double { Measure.quantile(latencies, 0.5) }
    var p99: Double { Measure.quantile(latencies, 0.99) }
    var firstP99: Double { Measure.quantile(firstLatencies, 0.99) }
}

/// Opens every connection, then sends every first message in one pass; each later message
/// goes when the previous reply (one line) arrived.
func runBurst(_ address: Socket.Address, connections: Int, messages: Int, texts: [String], prefix: String) throws -> BurstResult {
    var fds: [Int32] = []
    for _ in 0..<connections {
        let fd = try Socket.connect(address)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        fds.append(fd)
    }
    defer { for fd in fds { close(fd) } }
    let poller = try Epoll(capacity: 4096)
    for (i, fd) in fds.enumerated() { try poller.register(fd, token: UInt64(i), for: .read) }
    Thread.sleep(forTimeInterval: 0.3)  // every connection accepted before the burst
    var result = BurstResult()
    var sentAt = [UInt64](repeating: 0, count: connections)
    var remaining = [Int](repeating: messages, count: connections)
    var buffers = [[UInt8]](repeating: [], count: connections)
    func send(_ i: Int) {
        let n = messages - remaining[i]
        let line = Array("{\"session\":\"\(prefix)-\(i)\",\"text\":\"\(texts[(i * 7 + n) % texts.count])\"}\n".utf8)
        sentAt[i] = Measure.now()
        remaining[i] -= 1
        result.sent += 1
        _ = line.withUnsafeBytes { Glibc.send(fds[i], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
    for i in 0..<connections { send(i) }
    var active = connections
    var events: [Epoll.Event] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    let deadline = Measure.now() + 60_000_000_000
    while active > 0 && Measure.now() < deadline {
        poller.wait(timeoutMilliseconds: 100, into: &events)
        for event in events {
            let i = Int(event.token)
            let n = chunk.withUnsafeMutableBytes { recv(fds[i], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { if n == 0 { poller.unregister(fds[i]); active -= 1 }; continue }
            buffers[i].append(contentsOf: chunk[0..<n])
            while let newline = buffers[i].firstIndex(of: 0x0A) {
                buffers[i].removeSubrange(...newline)
                let latency = Double(Measure.now() - sentAt[i]) / 1e6
                result.latencies.append(latency)
                if remaining[i] == messages - 1 { result.firstLatencies.append(latency) }
                result.answered += 1
                if remaining[i] > 0 { send(i) } else { poller.unregister(fds[i]); active -= 1 }
            }
        }
    }
    result.latencies.sort()
    result.firstLatencies.sort()
    return result
}

/// The do-nothing responder as a child process, so that it runs beside the client as
/// `kefu serve` does.
final class EchoProcess {
    let process = Process()
    let address: Socket.Address

    init(binary: URL) throws {
        process.executableURL = binary
        process.arguments = ["echo-server"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw SystemError(call: "kefu-bench echo-server", path: "startup", code: EIO) }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, let address = Socket.Address(String(line.split(separator: " ").last ?? "")) else {
            throw SystemError(call: "kefu-bench echo-server", path: "startup", code: EIO)
        }
        self.address = address
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// `kefu-bench echo-server`: epoll on one thread; every line gets `{"session":"…"}` back and
/// nothing else happens. The floor any server on this machine pays for the same traffic.
func echoServer() -> Never {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    do {
        let (listener, bound) = try Socket.listen(Socket.Address(host: "127.0.0.1", port: 0), backlog: 4096)
        print("listening echo \(bound)")
        fflush(nil)
        let poller = try Epoll(capacity: 4096)
        try poller.register(listener, token: UInt64.max, for: .read)
        var buffers: [Int32: [UInt8]] = [:]
        var events: [Epoll.Event] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let key = Array("\"session\":\"".utf8)
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
                var out: [UInt8] = []
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let line = buffer[..<newline]
                    var session: ArraySlice<UInt8> = []
                    if let start = line.firstRange(of: key)?.upperBound, let end = line[start...].firstIndex(of: 0x22) { session = line[start..<end] }
                    out += Array("{\"session\":\"".utf8) + session + Array("\"}\n".utf8)
                    buffer.removeSubrange(...newline)
                }
                buffers[fd] = buffer
                _ = out.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    } catch {
        FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
        exit(1)
    }
}
