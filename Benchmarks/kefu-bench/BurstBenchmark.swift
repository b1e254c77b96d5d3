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
    Bench.raiseDescriptorLimit()
    Bench.run {
        let texts = try Bench.routineTexts(messagesFile, jsonSafe: true)
        let server = try ServerProcess(kb: kb, options: ["--max-connections", "20000", "--rate", "50", "--max-sessions", "1000"])
        defer { server.stop() }
        let echo = try FloorProcess("echo-server")
        defer { echo.stop() }
        print("burst: \(connections) JSON Lines connections send their first message at once, \(messages) messages each; kefu serve on \(server.customer), do-nothing responder on \(echo.address)")
        let rounds = try alternateRounds(kefu: server.customer, floor: echo.address, connections: connections, messages: messages, rate: .infinity,
                                         texts: texts) { .jsonLines(prefix: $0) }
        for (n, (e, k)) in zip(rounds.floor, rounds.kefu).enumerated() {
            print(String(format: "round %d  do-nothing  p50 %.1f ms, p99 %.1f ms (first messages p99 %.1f ms), %d/%d answered",
                         n + 1, e.p50, e.p99, e.firstP99, e.answered, e.sent))
            print(String(format: "round %d  kefu serve  p50 %.1f ms, p99 %.1f ms (first messages p99 %.1f ms), %d/%d answered; p99 ratio %.2f×",
                         n + 1, k.p50, k.p99, k.firstP99, k.answered, k.sent, k.p99 / max(e.p99, 0.001)))
        }
        print(String(format: "burst of %d: kefu p99 %.1f ms vs do-nothing %.1f ms (mean of rounds): %.2f× (target ≤ 1.5×)",
                     connections, rounds.kefuP99, rounds.floorP99, rounds.ratio))
        print(String(format: "server RSS after the bursts: %.1f MiB", Double(server.residentKiB()) / 1024))
    }
}

/// The figures of kefu and of a do-nothing floor driven by the same client in the same run.
struct AlternateRounds {
    var kefu: [LoadResult] = [], floor: [LoadResult] = []
    var kefuP99: Double { kefu.map(\.p99).reduce(0, +) / Double(max(kefu.count, 1)) }
    var floorP99: Double { floor.map(\.p99).reduce(0, +) / Double(max(floor.count, 1)) }
    /// kefu's p99 over the floor's, from the means of the rounds.
    var ratio: Double { kefuP99 / max(floorP99, 0.001) }
}

/// Warms both servers (page cache, first allocations), then drives the floor and kefu in turn,
/// `rounds` times, with the same client and load; `wire` makes each run's protocol from a
/// prefix of its own, so that no run meets another's conversations.
func alternateRounds(kefu: Socket.Address, floor: Socket.Address, rounds: Int = 2, connections: Int, messages: Int, rate: Double,
                     texts: [String], wire: (String) -> Wire) throws -> AlternateRounds {
    _ = try drive(floor, wire: wire("warm-floor"), connections: 50, messages: 2, rate: rate, texts: texts)
    _ = try drive(kefu, wire: wire("warm"), connections: 50, messages: 2, rate: rate, texts: texts)
    var result = AlternateRounds()
    for round in 0..<rounds {
        result.floor.append(try drive(floor, wire: wire("r\(round)e"), connections: connections, messages: messages, rate: rate, texts: texts))
        result.kefu.append(try drive(kefu, wire: wire("r\(round)k"), connections: connections, messages: messages, rate: rate, texts: texts))
    }
    return result
}
