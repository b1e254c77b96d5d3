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

func loadBenchmark(_ arguments: [String]) {
    let options = BenchOptions(arguments, defaults: ["--connections": "2000", "--messages": "20", "--rate": "20000", "--kb": "",
                                                     "--messages-file": "Tests/Data/kb-eval.jsonl", "--burst": ""], usage: loadUsage)
    let connections = options.int("--connections")
    let messages = options.int("--messages")
    let rate = options.double("--rate")
    let kb = options["--kb"] ?? FileManager.default.currentDirectoryPath
    if let burst = options["--burst"].flatMap(Int.init) {
        burstBenchmark(connections: burst, messages: options.int("--messages"), kb: kb, messagesFile: options["--messages-file"]!)
        return
    }
    Bench.raiseDescriptorLimit()
    Bench.run {
        let texts = try Bench.routineTexts(options["--messages-file"]!)
        let server = try ServerProcess(kb: kb)
        defer { server.stop() }
        print("kefu serve on \(server.customer), \(connections) connections × \(messages) messages, offered \(Int(rate)) msg/s, \(texts.count) distinct routine messages")
        _ = try drive(server.customer, wire: .plainLines, connections: 50, messages: 5, rate: 1000, texts: texts)  // warm
        // Idle connections first, on a server that has not yet grown with the load's transcripts.
        let before = server.residentKiB()
        var idle: [Int32] = []
        for _ in 0..<connections { idle.append(try Socket.connect(server.customer)) }
        Thread.sleep(forTimeInterval: 1)
        let after = server.residentKiB()
        print(String(format: "memory: %d idle connections add %.1f MiB to the server, %.1f KiB each (server RSS %.1f MiB)",
                     connections, Double(after - before) / 1024, Double(after - before) / Double(connections), Double(after) / 1024))
        for fd in idle { close(fd) }
        let quiet = try drive(server.customer, wire: .plainLines, connections: connections, messages: messages, rate: rate, texts: texts)
        print(Bench.figures("quiet", quiet))
        let noisy = try drive(server.customer, wire: .plainLines, connections: connections, messages: messages, rate: rate, texts: texts,
                              slowClients: 1, floodClients: 1)
        print(Bench.figures("slow + flood", noisy))
        print(String(format: "p99 under a slow and a flooding client: %.2f× the quiet figure", noisy.p99 / max(quiet.p99, 0.001)))

        let json: [String: Any] = ["connections": connections, "messages_per_second": quiet.rate, "p50_ms": quiet.p50, "p99_ms": quiet.p99,
                                   "answered": quiet.answered, "sent": quiet.sent, "noisy_p99_ms": noisy.p99,
                                   "idle_kib_per_connection": Double(after - before) / Double(connections)]
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    }
}
