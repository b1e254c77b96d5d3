import Foundation
import KefuCore
#if canImport(Glibc)
import Glibc
#endif

// The HTTP channel's figures (docs/HTTP.md, "Kefu on the web" §6): `kefu-bench http`,
// `kefu-bench ws-memory` and `kefu-bench relay`, each against `kefu serve --http-listen` as a
// child process, driven by the same epoll client as `load` and `load --burst`.

let httpUsage = """
Usage: kefu-bench http [--connections N] [--messages M] [--rate MSG_PER_SECOND] [--kb DIR] [--messages-file FILE]
  POST /v1/messages over N keep-alive connections (the integration token; each connection its own
  conversation), against kefu serve and against a do-nothing HTTP responder driven the same way in
  the same run: first at an offered rate (two rounds each, alternating), then saturated (each
  connection sends its next message as soon as the answer came) for the most each can take.
  --connections N   keep-alive connections (default 1000)
  --messages M      messages each connection sends per round (default 5)
  --rate R          messages per second offered in all (default 2000: below what kefu takes here
                    saturated, so the p99s compare service, not a queue)
  --kb DIR          knowledge base for the server (default .)
  --messages-file F JSONL whose "text" (with "route": "answer") are the messages (default Tests/Data/kb-eval.jsonl)
"""

func httpBenchmark(_ arguments: [String]) {
    let options = BenchOptions(arguments, defaults: ["--connections": "1000", "--messages": "5", "--rate": "2000", "--kb": ".",
                                                     "--messages-file": "Tests/Data/kb-eval.jsonl"], usage: httpUsage)
    let connections = options.int("--connections")
    let messages = options.int("--messages")
    let rate = options.double("--rate")
    Bench.raiseDescriptorLimit()
    Bench.run {
        let texts = try Bench.routineTexts(options["--messages-file"]!)
        let token = SecureRandomText.token()
        let server = try ServerProcess(kb: options["--kb"]!, environment: ["KEFU_INTEGRATION_TOKEN": token], http: true)
        defer { server.stop() }
        let floor = try FloorProcess("http-floor")
        defer { floor.stop() }
        let http = server.http!
        print("http: POST /v1/messages over \(connections) keep-alive connections, \(messages) messages each, \(texts.count) distinct routine messages; "
            + "kefu serve on \(http), do-nothing HTTP responder (fixed JSON 200) on \(floor.address)")
        let wire = { (prefix: String) in Wire.httpMessages(token: token, prefix: prefix) }
        let offered = try alternateRounds(kefu: http, floor: floor.address, connections: connections, messages: messages, rate: rate,
                                          texts: texts, wire: wire)
        for (n, (e, k)) in zip(offered.floor, offered.kefu).enumerated() {
            print(Bench.figures("round \(n + 1) floor", e))
            print(Bench.figures("round \(n + 1) kefu", k) + String(format: "; p99 ratio %.2f×", k.p99 / max(e.p99, 0.001)))
        }
        print(String(format: "offered %.0f msg/s: kefu p99 %.2f ms vs do-nothing %.2f ms (mean of rounds): %.2f× (target ≤ 1.5×)",
                     rate, offered.kefuP99, offered.floorP99, offered.ratio))
        let saturated = try alternateRounds(kefu: http, floor: floor.address, rounds: 1, connections: connections, messages: messages,
                                            rate: .infinity, texts: texts) { wire("s" + $0) }
        print(Bench.figures("saturated floor", saturated.floor[0]))
        print(Bench.figures("saturated kefu", saturated.kefu[0]))
        print(String(format: "saturated: kefu takes %.0f msg/s, %.0f%% of what the same client gets from the do-nothing responder",
                     saturated.kefu[0].rate, 100 * saturated.kefu[0].rate / max(saturated.floor[0].rate, 1)))
        print(String(format: "server RSS after the runs: %.1f MiB", Double(server.residentKiB()) / 1024))
        let json: [String: Any] = ["connections": connections, "offered": rate, "p50_ms": offered.kefu.map(\.p50).reduce(0, +) / Double(offered.kefu.count),
                                   "p99_ms": offered.kefuP99, "floor_p99_ms": offered.floorP99, "p99_ratio": offered.ratio,
                                   "saturated_messages_per_second": saturated.kefu[0].rate,
                                   "floor_saturated_messages_per_second": saturated.floor[0].rate]
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    }
}

/// A browser's conversation as the chat page opens it: `POST /v1/conversations` on a connection
/// of its own, then the customer WebSocket, whose first message is the bot's greeting.
func openBrowserConversation(_ http: Socket.Address) throws -> (socket: WebClient, conversation: String) {
    let answer = try WebClient(http).object("POST", "/v1/conversations")
    guard let conversation = answer["conversation"] as? String, let token = answer["token"] as? String else {
        throw BenchError("POST /v1/conversations: no conversation and token in \(answer)")
    }
    let socket = try WebClient(http)
    try socket.upgrade("/v1/ws?conversation=\(conversation)&token=\(token)")
    let greeting = try socket.item()
    guard greeting["from"] as? String == "bot" else { throw BenchError("the first item is not the bot's greeting: \(greeting)") }
    return (socket, conversation)
}

let wsMemoryUsage = """
Usage: kefu-bench ws-memory [--sockets N] [--kb DIR]
  kefu serve's resident memory (/proc/PID/status VmRSS of the child process) before and after N
  browser conversations open their customer WebSocket (POST /v1/conversations, then GET /v1/ws;
  the server greets each) and stay idle.
  --sockets N   WebSockets (default 2000)
  --kb DIR      knowledge base for the server (default .)
"""

func wsMemoryBenchmark(_ arguments: [String]) {
    let options = BenchOptions(arguments, defaults: ["--sockets": "2000", "--kb": "."], usage: wsMemoryUsage)
    let count = options.int("--sockets")
    Bench.raiseDescriptorLimit()
    Bench.run {
        let server = try ServerProcess(kb: options["--kb"]!, http: true)
        defer { server.stop() }
        let http = server.http!
        // Warm: the first conversations, sockets and feeds allocate what every later one reuses.
        for _ in 0..<20 { _ = try openBrowserConversation(http) }
        Thread.sleep(forTimeInterval: 1)
        let before = server.residentKiB()
        let start = Measure.now()
        var sockets: [WebClient] = []
        for _ in 0..<count { sockets.append(try openBrowserConversation(http).socket) }
        let seconds = Double(Measure.now() - start) / 1e9
        Thread.sleep(forTimeInterval: 1)
        let after = server.residentKiB()
        print("ws-memory: kefu serve (child process, default limits) on \(http); \(count) browser conversations open their customer WebSocket, are greeted and stay idle")
        print(String(format: "opened in %.1f s (%.0f conversations/s, each POST /v1/conversations + upgrade + greeting)", seconds, Double(count) / seconds))
        print(String(format: "memory: RSS %.1f MiB before, %.1f MiB after: %.1f MiB for %d WebSockets, %.2f KiB each (target ≤ 2 KiB)",
                     Double(before) / 1024, Double(after) / 1024, Double(after - before) / 1024, count, Double(after - before) / Double(count)))
        let json: [String: Any] = ["sockets": count, "rss_before_kib": before, "rss_after_kib": after,
                                   "kib_per_socket": Double(after - before) / Double(count)]
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
        withExtendedLifetime(sockets) {}
    }
}

let relayUsage = """
Usage: kefu-bench relay [--conversations N] [--replies R] [--interval MS] [--background MSG_PER_SECOND] [--kb DIR] [--messages-file FILE]
  Time from an agent's REPLY (agent line protocol) to the item's arrival on the customer's
  WebSocket, with N browser conversations handed off and claimed by one agent: first on a quiet
  server, then while customers send messages over HTTP (POST /v1/messages, 200 keep-alive
  connections, the integration token) at the background rate.
  --conversations N   customer WebSockets handed to the agent (default 50)
  --replies R         replies timed in each phase, one every --interval (default 1000)
  --interval MS       pause between replies (default 4)
  --background R      customer messages per second meanwhile (default 1000)
"""

func relayBenchmark(_ arguments: [String]) {
    let options = BenchOptions(arguments, defaults: ["--conversations": "50", "--replies": "1000", "--interval": "4", "--background": "1000",
                                                     "--kb": ".", "--messages-file": "Tests/Data/kb-eval.jsonl"], usage: relayUsage)
    let count = options.int("--conversations")
    let replies = options.int("--replies")
    let interval = options.double("--interval") / 1000
    let background = options.double("--background")
    Bench.raiseDescriptorLimit()
    Bench.run {
        let texts = try Bench.routineTexts(options["--messages-file"]!)
        let token = SecureRandomText.token()
        // One agent sends a line every few milliseconds: above the default per-connection rate.
        let server = try ServerProcess(kb: options["--kb"]!, options: ["--max-connections", "10000", "--rate", "1000"],
                                       environment: ["KEFU_INTEGRATION_TOKEN": token], http: true)
        defer { server.stop() }
        let http = server.http!
        let agent = try LineClient(server.agent, timeout: 10)
        try agent.send("AUTH bench \(try server.addAgent("bench"))")
        _ = try answer(agent)
        // Each customer asks for a person; the agent claims the ticket.
        var customers: [(socket: WebClient, ticket: String)] = []
        for _ in 0..<count {
            let (socket, _) = try openBrowserConversation(http)
            try socket.sendText(#"{"text":"转人工","client_message_id":"handoff"}"#)
            var ticket: String?
            while ticket == nil { ticket = try socket.item()["ticket"] as? String }
            try agent.send("CLAIM \(ticket!)")
            _ = try answer(agent)
            while try socket.item()["type"] as? String != "agent_joined" {}
            customers.append((socket, ticket!))
        }
        print("relay: agent REPLY on the line protocol → the item on the customer's WebSocket; \(count) browser conversations with one agent, "
            + "\(replies) replies one every \(options["--interval"]!) ms; kefu serve (child process) on \(http)")

        func timeReplies(_ phase: String) throws -> [Double] {
            var latencies: [Double] = []
            for k in 0..<replies {
                let (socket, ticket) = customers[k % count]
                let marker = "\(phase)-\(k)"
                let sent = Measure.now()
                try agent.send("REPLY \(ticket) 您好，这是人工客服的回复 \(marker)")
                while !((try socket.item()["text"] as? String)?.hasSuffix(marker) ?? false) {}
                latencies.append(Double(Measure.now() - sent) / 1e6)
                guard try answer(agent).hasPrefix("OK delivered") else { throw BenchError("REPLY \(ticket) was not delivered at once") }
                Thread.sleep(forTimeInterval: interval)
            }
            return latencies.sorted()
        }
        func report(_ name: String, _ sorted: [Double]) {
            print(String(format: "%@  p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d replies)",
                         name.padding(toLength: 22, withPad: " ", startingAt: 0), Measure.quantile(sorted, 0.5), Measure.quantile(sorted, 0.99), sorted.last ?? 0, sorted.count))
        }
        _ = try timeReplies("warm")
        let quiet = try timeReplies("quiet")
        report("quiet server", quiet)

        // The background customers, on a thread of their own, until the timed replies are done.
        let load = BackgroundLoad()
        let wire = Wire.httpMessages(token: token, prefix: "bg")
        Thread {
            do {
                load.result = try drive(http, wire: wire, connections: 200, messages: 1_000_000, rate: background, texts: texts) { load.stopped }
            } catch {
                load.error = error
            }
            load.done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 1)  // connected and flowing
        let loadedStart = Measure.now()
        let loaded = try timeReplies("loaded")
        let loadedSeconds = Double(Measure.now() - loadedStart) / 1e9
        load.stop()
        load.done.wait()
        if let error = load.error { throw error }
        let customer = load.result!
        report(String(format: "under %.0f msg/s", background), loaded)
        print(Bench.figures("background", customer) + String(format: " (%.1f s of it; the timed replies took %.1f s)", customer.seconds, loadedSeconds))
        print(String(format: "relay p99 under load: %.2f ms (target ≤ 5 ms); quiet %.2f ms", Measure.quantile(loaded, 0.99), Measure.quantile(quiet, 0.99)))
        let json: [String: Any] = ["conversations": count, "replies": replies, "background_offered": background, "background_rate": customer.rate,
                                   "quiet_p50_ms": Measure.quantile(quiet, 0.5), "quiet_p99_ms": Measure.quantile(quiet, 0.99),
                                   "p50_ms": Measure.quantile(loaded, 0.5), "p99_ms": Measure.quantile(loaded, 0.99)]
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    }
}

/// The answer to an agent command (`OK …` or `ERR …`), skipping pushed lines (`* NEW …`);
/// an `ERR` fails the run.
func answer(_ agent: LineClient) throws -> String {
    while true {
        let line = try agent.line()
        if line.hasPrefix("* ") { continue }
        guard line.hasPrefix("OK") else { throw BenchError("agent: \(line)") }
        return line
    }
}

/// The background customers' thread: told when to stop; hands back its figures.
private final class BackgroundLoad: @unchecked Sendable {
    var result: LoadResult?
    var error: (any Error)?
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopRequested = false

    var stopped: Bool { lock.withLock { stopRequested } }
    func stop() { lock.withLock { stopRequested = true } }
}
