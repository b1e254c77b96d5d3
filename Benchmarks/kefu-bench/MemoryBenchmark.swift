import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

/// `kefu-bench memory`: the server's resident memory as customers come and go, with its
/// default limits. Customers are an authenticated integration's (`int:` keys, which the
/// server cannot drop when a connection closes: the worst case for memory), on JSON Lines
/// connections of at most 1,000 customers each (the default per-connection limit).
let memoryUsage = """
Usage: kefu-bench memory [--customers N] [--messages M] [--one-message N] [--kb DIR] [--messages-file FILE]
  --customers N     customers who write many messages (default 1000)
  --messages M      messages each of them writes (default 60)
  --one-message N   then this many new customers who write one message each (default 100000)
"""

func memoryBenchmark(_ arguments: [String]) {
    let options = BenchOptions(arguments, defaults: ["--customers": "1000", "--messages": "60", "--one-message": "100000", "--kb": ".",
                                                     "--messages-file": "Tests/Data/kb-eval.jsonl"], usage: memoryUsage)
    let customers = options.int("--customers")
    let messages = options.int("--messages")
    let oneMessage = options.int("--one-message")
    Bench.raiseDescriptorLimit()
    Bench.run {
        let texts = try LabelledFile.read(options["--messages-file"]!, labelKey: "text").filter { $0.fields["route"] == "answer" }
            .map(\.example.text).filter { !$0.contains("\n") && !$0.contains("\"") && !$0.contains("\\") }
        let token = SecureRandomText.token()
        // Default limits except the per-connection line rate, which a load generator exceeds by design.
        let server = try ServerProcess(kb: options["--kb"]!, options: ["--rate", "100000"],
                                       environment: ["KEFU_INTEGRATION_TOKEN": token])
        defer { server.stop() }
        func mib() -> String { String(format: "%.1f MiB", Double(server.residentKiB()) / 1024) }
        print("memory: kefu serve with default limits; RSS at start \(mib())")
        let start = Measure.now()
        // Many messages: customers spread over connections of 100, every customer writing in turn.
        let perConnection = 100
        let busy = try (0..<((customers + perConnection - 1) / perConnection)).map { _ in try IntegrationClient(server.customer, token: token) }
        for round in 0..<messages {
            for (n, client) in busy.enumerated() {
                let ids = (n * perConnection)..<min((n + 1) * perConnection, customers)
                try client.converse(ids.map { ("m\($0)", texts[($0 * 7 + round) % texts.count]) })
            }
        }
        print("after \(customers) customers × \(messages) messages: RSS \(mib()) (\(String(format: "%.0f", Double(Measure.now() - start) / 1e9)) s)")
        // One message each: connections of 1,000 new customers, one after another, each kept open.
        var open: [IntegrationClient] = []
        var done = 0
        while done < oneMessage {
            let client = try IntegrationClient(server.customer, token: token)
            let ids = done..<min(done + 1000, oneMessage)
            try client.converse(ids.map { ("o\($0)", texts[$0 % texts.count]) })
            open.append(client)
            done = ids.upperBound
            if done % 20_000 == 0 { print("  … \(done) one-message customers: RSS \(mib())") }
        }
        print("after \(oneMessage) more one-message customers: RSS \(mib()) (\(String(format: "%.0f", Double(Measure.now() - start) / 1e9)) s)")
        withExtendedLifetime(open) {}
    }
}

enum SecureRandomText {
    static func token() -> String { (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined() }
}

/// A JSON Lines connection authenticated as the integration.
final class IntegrationClient {
    private let client: LineClient

    init(_ address: Socket.Address, token: String) throws {
        // A minute per read: the server answers a chunk of 200 messages long before that,
        // even at 100,000 customers; a server that does not is stuck, and the run says so.
        client = try LineClient(address, timeout: 60)
        try client.send("{\"auth\":\"\(token)\"}")
        _ = try client.line()
    }

    /// Sends one message per (customer, text) in chunks and waits for every reply.
    func converse(_ messages: [(customer: String, text: String)]) throws {
        for start in stride(from: 0, to: messages.count, by: 200) {
            let chunk = messages[start..<min(start + 200, messages.count)]
            try client.send(bytes: Array(chunk.map { "{\"session\":\"\($0.customer)\",\"text\":\"\($0.text)\"}\n" }.joined().utf8))
            for _ in chunk { _ = try client.line() }
        }
    }
}
