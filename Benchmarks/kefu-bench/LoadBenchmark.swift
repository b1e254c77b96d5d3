import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

/// `kefu-bench load`: starts `kefu serve` on free loopback ports and drives it like a crowd
/// of customers: N connections, each sending a message every N/rate seconds (an open loop,
/// as real customers type, not a closed loop that only measures queueing), M messages each.
/// Prints the server's memory per idle connection, then throughput and reply latency, then
/// the same with a client that never reads and a client that floods.
let loadUsage = """
Usage: kefu-bench load [--connections N] [--messages M] [--rate MSG_PER_SECOND] [--kb DIR] [--messages-file FILE]
  --connections N   concurrent customer connections (default 2000)
  --messages M      messages each connection sends (default 20)
  --rate R          total messages per second offered (default 20000)
  --kb DIR          knowledge base for the server (default .)
  --messages-file F JSONL whose "text" (with "route": "answer") are the messages (default Tests/Data/kb-eval.jsonl)
  --burst N         instead: N JSON Lines connections send their first message at the same moment
                    (--messages each, the next when the reply came), against kefu serve and against
                    a do-nothing responder driven the same way in the same run
"""

struct LoadResult {
    var sent = 0, answered = 0, errors = 0
    var latenciesMs: [Double] = []
    var seconds = 0.0
    var p50: Double { Measure.quantile(latenciesMs, 0.5) }
    var p99: Double { Measure.quantile(latenciesMs, 0.99) }
    var rate: Double { seconds > 0 ? Double(answered) / seconds : 0 }
}

final class ServerProcess {
    let process = Process()
    let customer: Socket.Address
    let agent: Socket.Address
    let data: String

    /// - Parameters:
    ///   - options: replace the load generator's usual limits (`--max-connections 10000 --rate 50`).
    ///   - environment: added to the server's environment.
    init(binary: URL, kb: String, options: [String]? = nil, environment: [String: String] = [:]) throws {
        data = NSTemporaryDirectory() + "kefu-load-" + UUID().uuidString
        process.executableURL = binary
        process.arguments = ["serve", "--kb", kb, "--data", data, "--customer-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0",
                             "--idle-timeout", "600"] + (options ?? ["--max-connections", "10000", "--rate", "50"])
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !(text.contains("listening customer") && text.contains("listening agent")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw SystemError(call: "kefu serve", path: "startup", code: EIO) }
            text += String(decoding: chunk, as: UTF8.self)
        }
        func address(_ kind: String) -> Socket.Address {
            let line = text.split(separator: "\n").first { $0.hasPrefix("listening \(kind) ") }!
            return Socket.Address(String(line.split(separator: " ")[2]))!
        }
        customer = address("customer")
        agent = address("agent")
    }

    /// Resident memory of the server in KiB, from /proc.
    func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: data)
    }
}

/// One customer connection of the load generator.
final class LoadClient {
    let fd: Int32
    var buffer: [UInt8] = []
    var sentAt: UInt64 = 0
    var waiting = false
    var remaining: Int
    var nextSend: UInt64
    var messageIndex: Int

    init(fd: Int32, messages: Int, firstSend: UInt64, messageIndex: Int) {
        self.fd = fd
        remaining = messages
        nextSend = firstSend
        self.messageIndex = messageIndex
    }
}

func runLoad(server: ServerProcess, connections: Int, messages: Int, rate: Double, texts: [String],
             slowClients: Int = 0, floodClients: Int = 0) throws -> LoadResult {
    var clients: [LoadClient] = []
    for i in 0..<connections {
        let fd = try Socket.connect(server.customer)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        clients.append(LoadClient(fd: fd, messages: messages, firstSend: 0, messageIndex: i))
    }
    // Misbehaving clients: one never reads its replies, one sends as fast as it can.
    var slow: [Int32] = [], flood: [Int32] = []
    for _ in 0..<slowClients { slow.append(try Socket.connect(server.customer)) }
    for _ in 0..<floodClients {
        let fd = try Socket.connect(server.customer)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        flood.append(fd)
    }
    let longMessage = Array((String(repeating: "我的快递怎么还没到 ", count: 40) + "\n").utf8)
    let floodLine = Array(repeating: Array("退款\n".utf8), count: 64).flatMap { $0 }

    // The schedule starts once every connection is open, so the run does not begin behind.
    let start = Measure.now() + 100_000_000
    var result = LoadResult()
    var readBuffer = [UInt8](repeating: 0, count: 65536)
    // epoll, like the server: a poll() scan of 2,000 descriptors per wake-up cost the
    // generator more than half a core, which it took from the server it measures.
    let poller = try Epoll(capacity: 4096)
    for (i, c) in clients.enumerated() { try poller.register(c.fd, token: UInt64(i), for: .read) }
    var events: [Epoll.Event] = []
    var lastAnswer = start
    var active = connections
    let began = Measure.now()
    let total = connections * messages
    let deadline = began + UInt64(Double(total) / rate * 3e9) + 30_000_000_000
    // Sends go round-robin at the offered rate: the cursor says how many are due by now. A
    // client still waiting for its previous reply is skipped and sends when the reply comes.
    var due = 0
    var cursor = 0
    var backlog: [Int] = []
    func trySend(_ i: Int, now: UInt64) -> Bool {
        let c = clients[i]
        guard !c.waiting, c.remaining > 0 else { return false }
        let line = Array((texts[c.messageIndex % texts.count] + "\n").utf8)
        c.messageIndex += 7
        let n = line.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n == line.count else { result.errors += 1; return false }
        c.sentAt = now
        c.waiting = true
        c.remaining -= 1
        result.sent += 1
        return true
    }
    while active > 0 && Measure.now() < deadline {
        let now = Measure.now()
        if now > start {
            let shouldHaveSent = min(total, Int(Double(now - start) / 1e9 * rate))
            while due < shouldHaveSent {
                let i = cursor % connections
                cursor += 1
                due += 1
                if !trySend(i, now: now) && clients[i].remaining > 0 { backlog.append(i) }
            }
        }
        for fd in slow { _ = longMessage.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) } }
        for fd in flood { _ = floodLine.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) } }
        for fd in flood { while recv(fd, &readBuffer, readBuffer.count, Int32(MSG_DONTWAIT)) > 0 {} }
        poller.wait(timeoutMilliseconds: 1, into: &events)
        guard !events.isEmpty else { continue }
        var answered: [Int] = []
        for event in events {
            let i = Int(event.token)
            let c = clients[i]
            let n = readBuffer.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { if n == 0 { result.errors += 1; poller.unregister(c.fd); active -= 1 }; continue }
            c.buffer.append(contentsOf: readBuffer[0..<n])
            // A reply ends with an empty line.
            while let end = findBlankLine(c.buffer) {
                c.buffer.removeFirst(end)
                if c.waiting {
                    lastAnswer = Measure.now()
                    result.latenciesMs.append(Double(lastAnswer - c.sentAt) / 1e6)
                    result.answered += 1
                    c.waiting = false
                    if c.remaining == 0 { active -= 1 } else { answered.append(i) }
                }
            }
        }
        if !backlog.isEmpty && !answered.isEmpty {
            let free = Set(answered)
            let now = Measure.now()
            backlog.removeAll { free.contains($0) && trySend($0, now: now) }
        }
    }
    // Throughput over the run itself: from the first scheduled send to the last reply.
    result.seconds = Double(lastAnswer - start) / 1e9
    result.latenciesMs.sort()
    for c in clients { close(c.fd) }
    for fd in slow + flood { close(fd) }
    return result
}

func findBlankLine(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 2 else { return nil }
    for i in 1..<bytes.count where bytes[i] == 0x0A && bytes[i - 1] == 0x0A { return i + 1 }
    return nil
}

func loadBenchmark(_ arguments: [String]) {
    let options = BenchOptions(arguments, defaults: ["--connections": "2000", "--messages": "20", "--rate": "20000", "--kb": "",
                                                     "--messages-file": "Tests/Data/kb-eval.jsonl", "--burst": ""], usage: loadUsage)
    let connections = Int(options["--connections"]!) ?? 2000
    let messages = Int(options["--messages"]!) ?? 20
    let rate = Double(options["--rate"]!) ?? 20000
    let kb = options["--kb"] ?? FileManager.default.currentDirectoryPath
    if let burst = options["--burst"].flatMap(Int.init) {
        burstBenchmark(connections: burst, messages: Int(options["--messages"]!) ?? 5, kb: kb, messagesFile: options["--messages-file"]!)
        return
    }
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    do {
        let file = options["--messages-file"]!
        let texts = try LabelledFile.read(file, labelKey: "text").filter {
            $0.fields["route"] == "answer" && !["greeting", "thanks", "goodbye"].contains($0.fields["topic"] ?? "")
        }.map(\.example.text).filter { !$0.contains("\n") }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kefu")
        let server = try ServerProcess(binary: binary, kb: kb)
        defer { server.stop() }
        print("kefu serve on \(server.customer), \(connections) connections × \(messages) messages, offered \(Int(rate)) msg/s, \(texts.count) distinct routine messages")
        func report(_ name: String, _ r: LoadResult) {
            print(String(format: "%@  %d/%d answered, %.0f msg/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms, errors %d",
                         name, r.answered, r.sent, r.rate, r.p50, r.p99, r.latenciesMs.last ?? 0, r.errors))
        }
        let warm = try runLoad(server: server, connections: 50, messages: 5, rate: 1000, texts: texts)
        _ = warm
        // Idle connections first, on a server that has not yet grown with the load's transcripts.
        let before = server.residentKiB()
        var idle: [Int32] = []
        for _ in 0..<connections { idle.append(try Socket.connect(server.customer)) }
        Thread.sleep(forTimeInterval: 1)
        let after = server.residentKiB()
        print(String(format: "memory: %d idle connections add %.1f MiB to the server, %.1f KiB each (server RSS %.1f MiB)",
                     connections, Double(after - before) / 1024, Double(after - before) / Double(connections), Double(after) / 1024))
        for fd in idle { close(fd) }
        let quiet = try runLoad(server: server, connections: connections, messages: messages, rate: rate, texts: texts)
        report("quiet          ", quiet)
        let noisy = try runLoad(server: server, connections: connections, messages: messages, rate: rate, texts: texts, slowClients: 1, floodClients: 1)
        report("slow + flood   ", noisy)
        print(String(format: "p99 under a slow and a flooding client: %.2f× the quiet figure", noisy.p99 / max(quiet.p99, 0.001)))

        let json: [String: Any] = ["connections": connections, "messages_per_second": quiet.rate, "p50_ms": quiet.p50, "p99_ms": quiet.p99,
                                   "answered": quiet.answered, "sent": quiet.sent, "noisy_p99_ms": noisy.p99,
                                   "idle_kib_per_connection": Double(after - before) / Double(connections)]
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    } catch {
        FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
        exit(1)
    }
}
