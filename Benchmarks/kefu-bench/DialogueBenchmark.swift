import Foundation
import KefuCore

/// `kefu-bench dialogue`: the gateway engine's work per message without sockets: many
/// conversations taking turns, each message understood, routed, answered, added to the
/// transcript and logged (events queued by a group commit and written once per batch, as `kefu serve` does).
/// Separates the cost of the conversation policy from the cost of I/O, and is small enough
/// to run under `valgrind --tool=callgrind` for a repeatable profile.
let dialogueUsage = """
Usage: kefu-bench dialogue [--conversations N] [--messages M] [--kb DIR] [--messages-file FILE] [--batch B]
  --conversations N  conversations taking turns (default 2000)
  --messages M       messages each conversation sends (default 20)
  --batch B          messages per event-log write (default 64)
"""

func dialogueBenchmark(_ arguments: [String]) {
    let options = BenchOptions(arguments, defaults: ["--conversations": "2000", "--messages": "20", "--kb": ".",
                                                     "--messages-file": "Tests/Data/kb-eval.jsonl", "--batch": "64"], usage: dialogueUsage)
    do {
        let conversations = options.int("--conversations")
        let perConversation = options.int("--messages")
        let batch = max(1, options.int("--batch"))
        let kb = try KnowledgeLoader.load(from: options["--kb"]!)
        let texts = try LabelledFile.read(options["--messages-file"]!, labelKey: "route")
            .filter { $0.example.label == "answer" }.map(\.example.text)
        let data = NSTemporaryDirectory() + "kefu-dialogue-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: data) }
        let desk = try ServiceDesk(folder: data).withGroupCommit()
        let dialogue = Dialogue(kb: kb, desk: desk)
        var states: [String: ConversationState] = [:]
        var latencies: [Double] = []
        latencies.reserveCapacity(conversations * perConversation)
        let now = Date()
        let start = Measure.now()
        var sinceWrite = 0
        for round in 0..<perConversation {
            for c in 0..<conversations {
                let customer = "load-\(c)"
                let t0 = Measure.now()
                var state = try states.removeValue(forKey: customer)
                    ?? dialogue.start(customer: customer, channel: "tcp", now: now)
                let text = texts[(c * 7 + round) % texts.count]
                _ = try dialogue.respond(to: text, in: &state, now: now)
                states[customer] = state
                latencies.append(Double(Measure.now() - t0) / 1000)
                sinceWrite += 1
                if sinceWrite == batch {
                    try desk.events.write(desk.events.takePending())
                    sinceWrite = 0
                }
            }
        }
        try desk.events.write(desk.events.takePending())
        let seconds = Double(Measure.now() - start) / 1e9
        latencies.sort()
        let count = latencies.count
        print("dialogue: \(conversations) conversations × \(perConversation) messages, knowledge base \(options["--kb"]!)")
        print(String(format: "engine       %.0f messages/s (%.1f µs each, event writes included)", Double(count) / seconds, seconds * 1e6 / Double(count)))
        print(String(format: "latency      p50 %.1f µs, p99 %.1f µs (respond only)", Measure.quantile(latencies, 0.5), Measure.quantile(latencies, 0.99)))
        print(String(format: "peak memory  %.1f MiB", Measure.peakResidentMiB()))
    } catch {
        FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
        exit(1)
    }
}
