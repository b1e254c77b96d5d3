import Foundation

/// Tickets as JSON objects and as text for agents; numbers masked unless `unmasked`. In the text, every
/// value a customer or an agent wrote is one clean line (`LineSanitizer`): a customer id holding a line
/// break must not start a line of its own.
public enum TicketJSON {
    /// A queue line: the customer id and summary masked, since every agent sees the queue.
    public static func listing(_ t: Ticket, now: Date, unmasked: Bool = false) -> [String: Any] {
        let show = { (s: String) in unmasked ? s : PrivacyMask.mask(s) }
        return ["id": t.id, "customer": show(t.customer), "channel": t.channel, "state": t.state.rawValue, "reason": t.reason.rawValue,
                "priority": t.priority, "created": Timestamp.format(t.created), "waiting_seconds": Int(t.waited(now: now)),
                "summary": show(t.summary), "topic": t.topic, "assignee": t.assignee ?? NSNull()]
    }

    public static func full(_ t: Ticket, now: Date, unmasked: Bool) -> [String: Any] {
        var object = listing(t, now: now, unmasked: unmasked)
        let show = { (s: String) in unmasked ? s : PrivacyMask.mask(s) }
        object["transcript"] = t.transcript.map { ["time": Timestamp.format($0.time), "from": $0.from, "text": show($0.text)] }
        object["turns"] = t.turns.map { turn -> [String: Any] in
            ["time": Timestamp.format(turn.time), "topic": turn.topic, "confidence": turn.confidence, "route": turn.route,
             "candidates": turn.candidates.map { ["entry": $0.entry, "topic": $0.topic, "confidence": $0.confidence] },
             "emotion": ["score": turn.emotionScore, "level": turn.emotionLevel]]
        }
        object["history"] = t.history.map { h -> [String: Any] in
            ["time": Timestamp.format(h.time), "action": h.action, "agent": h.agent ?? NSNull(), "note": h.note.map(show) ?? NSNull()]
        }
        object["facts"] = t.facts.map(show)
        object["rating"] = t.rating ?? NSNull()
        return object
    }

    public static func text(_ t: Ticket, now: Date, unmasked: Bool) -> String {
        let show = { (s: String) in LineSanitizer.clean(unmasked ? s : PrivacyMask.mask(s)) }
        let name = LineSanitizer.clean
        var out = "\(t.id)  \(t.state.rawValue)\(t.assignee.map { " by \(name($0))" } ?? "")  reason \(t.reason.rawValue)  priority \(t.priority)\n"
        out += "customer \(show(t.customer))  channel \(name(t.channel))  created \(Timestamp.format(t.created))  waited \(duration(t.waited(now: now)))\n"
        out += "summary  \(show(t.summary))\n"
        if !t.facts.isEmpty { out += "facts    \(t.facts.map(show).joined(separator: "; "))\n" }
        out += "\ntranscript\n"
        for line in t.transcript { out += "  \(Timestamp.format(line.time))  \(name(line.from)): \(show(line.text))\n" }
        out += "\nwhat the bot understood\n"
        for turn in t.turns {
            let candidates = turn.candidates.map { "\($0.entry) \(String(format: "%.2f", $0.confidence))" }.joined(separator: ", ")
            out += "  \(turn.topic) \(String(format: "%.2f", turn.confidence)) → \(turn.route); emotion \(turn.emotionLevel) \(String(format: "%.2f", turn.emotionScore)); \(candidates)\n"
        }
        out += "\nhistory\n"
        for h in t.history { out += "  \(Timestamp.format(h.time))  \(h.action)\(h.agent.map { " by \(name($0))" } ?? "")\(h.note.map { ": \(show($0))" } ?? "")\n" }
        if !unmasked { out += "\n(numbers are masked; the agent holding the ticket sees them with --as NAME)" }
        return out
    }

    public static func duration(_ seconds: TimeInterval) -> String {
        let s = Int(seconds)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        return "\(s / 3600)h\(s % 3600 / 60)m"
    }
}
