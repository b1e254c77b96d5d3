import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

let storeUsage = """
Usage: kefu-bench store [--connections N] [--messages N] [--rate N] [--replies N] [--kb DIR] [--messages-file FILE]
One kefu serve on the journals and one on Redis (a redis-server started here with
appendfsync always, Debian's package), the same plain-line load driven at each in turn by
the same client: messages/s, p50/p99 and Redis round trips per message. Then a second instance
on that Redis: an agent's REPLY on one, timed to the line on the customer's connection to
the other.
"""

/// `kefu-bench store`: what Redis costs a message, next to the journals, in the same run.
func storeBenchmark(_ arguments: [String]) {
    let options = BenchOptions(arguments, defaults: ["--connections": "200", "--messages": "20", "--rate": "2000", "--replies": "500",
                                                     "--kb": ".", "--messages-file": "Tests/Data/kb-eval.jsonl"], usage: storeUsage)
    let connections = options.int("--connections")
    let messages = options.int("--messages")
    let rate = options.double("--rate")
    let replies = options.int("--replies")
    let kb = options["--kb"]!
    Bench.raiseDescriptorLimit()
    Bench.run {
        let texts = try Bench.routineTexts(options["--messages-file"]!)
        let redis = try RedisChild()
        defer { redis.stop() }
        let serving = ["--max-connections", "10000", "--rate", "50"]
        let journals = try ServerProcess(kb: kb, options: serving)
        defer { journals.stop() }
        let onRedis = try ServerProcess(kb: kb, options: serving + ["--store", redis.url])
        defer { onRedis.stop() }
        let counter = RedisClient(configuration: try RedisConfiguration(redis.url))
        print("store: \(connections) plain-line customers × \(messages) messages at \(Int(rate)) msg/s offered, then saturated; "
              + "kefu serve on the journals (\(journals.customer)) and on Redis \(redis.url) (\(onRedis.customer)), alternating")
        _ = try drive(journals.customer, wire: .plainLines, connections: 50, messages: 5, rate: 1000, texts: texts)
        _ = try drive(onRedis.customer, wire: .plainLines, connections: 50, messages: 5, rate: 1000, texts: texts)
        for (name, offered) in [("offered", rate), ("saturated", Double.infinity)] {
            for round in 1...2 {
                let j = try drive(journals.customer, wire: .plainLines, connections: connections, messages: messages, rate: offered, texts: texts)
                let before = try redis.roundTripsServed(counter)
                let r = try drive(onRedis.customer, wire: .plainLines, connections: connections, messages: messages, rate: offered, texts: texts)
                let perMessage = Double(try redis.roundTripsServed(counter) - before - 1) / Double(max(r.answered, 1))
                print(Bench.figures("\(name) \(round) journals", j))
                print(Bench.figures("\(name) \(round) redis", r) + String(format: "; %.2f Redis round trips per message (every client: turns, saves, events, tickets)", perMessage))
            }
        }

        // Cross-instance relay: the customers on one instance, their agent on another (which
        // sends a line every few milliseconds: above the default per-connection rate).
        let relaying = ["--max-connections", "10000", "--rate", "1000", "--store", redis.url]
        let agentSide = try ServerProcess(kb: kb, options: relaying)
        defer { agentSide.stop() }
        let other = try ServerProcess(kb: kb, options: relaying)
        defer { other.stop() }
        let agent = try LineClient(agentSide.agent, timeout: 10)
        try agent.send("AUTH bench \(try agentSide.addAgent("bench"))")
        _ = try answer(agent)
        var customers: [(client: LineClient, ticket: String)] = []
        for _ in 0..<20 {
            let customer = try LineClient(other.customer, timeout: 10)
            try customer.send("转人工")
            let told = try customer.block()
            guard let range = told.range(of: #"T\d{6}"#, options: .regularExpression) else { throw BenchError("no ticket in: \(told)") }
            let ticket = String(told[range])
            try agent.send("CLAIM \(ticket)")
            _ = try answer(agent)
            while !(try customer.line()).contains("已接入") {}
            customers.append((customer, ticket))
        }
        var latencies: [Double] = []
        for k in 0..<replies {
            let (customer, ticket) = customers[k % customers.count]
            let marker = "r\(k)"
            let sent = Measure.now()
            try agent.send("REPLY \(ticket) 您好，这是人工客服的回复 \(marker)")
            while !(try customer.line()).hasSuffix(marker) {}
            latencies.append(Double(Measure.now() - sent) / 1e6)
            guard try answer(agent).hasPrefix("OK relayed") else { throw BenchError("REPLY \(ticket) was not relayed") }
            Thread.sleep(forTimeInterval: 0.002)
        }
        latencies.sort()
        print(String(format: "relay across instances: agent REPLY on one instance → the line on the customer's connection to another: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d replies)",
                     Measure.quantile(latencies, 0.5), Measure.quantile(latencies, 0.99), latencies.last ?? 0, latencies.count))
    }
}

/// A `redis-server` for the benchmark: a free loopback port, a temporary folder, every write
/// synced (`appendfsync always`, as docs/SCALING.md asks of a deployment).
final class RedisChild {
    let process = Process()
    let folder = NSTemporaryDirectory() + "kefu-bench-redis-" + UUID().uuidString
    let url: String

    init() throws {
        let listener = try Socket.listen(Socket.Address(host: "127.0.0.1", port: 0))
        close(listener.fd)
        let port = listener.bound.port
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: FileManager.default.isExecutableFile) else {
            throw BenchError("redis-server is not installed: apt-get install redis-server")
        }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", folder, "--appendonly", "yes",
                             "--appendfsync", "always", "--save", ""]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        url = "redis://127.0.0.1:\(port)/0"
        let client = RedisClient(configuration: try RedisConfiguration(url))
        for _ in 0..<100 {
            if (try? client.ping()) != nil { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw BenchError("redis-server did not answer on \(url)")
    }

    /// `total_reads_processed` from `INFO stats`: the requests Redis read from every client,
    /// a pipeline being one — the round trips the server served.
    func roundTripsServed(_ client: RedisClient) throws -> Int {
        let info = try client.command("INFO", "stats").string ?? ""
        let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("total_reads_processed:") }
        return line.flatMap { Int($0.split(separator: ":")[1]) } ?? 0
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
