import Foundation

/// The figures a service centre watches, computed from the event log.
public struct ServiceMetrics: Sendable {
    public var conversations = 0
    public var messages = 0
    /// Conversations that ended without a person, over all conversations.
    public var containmentRate = 0.0
    public var handoffRate = 0.0
    public var handoffReasons: [String: Int] = [:]
    public var fallbackRate = 0.0
    public var clarificationRate = 0.0
    public var medianSecondsToClaim: Double?
    public var p90SecondsToClaim: Double?
    public var ratings: [Int: Int] = [:]
    public var satisfactionAverage: Double?
    public var topTopics: [(topic: String, count: Int)] = []
    /// Events that could not be written in the period, and when: the figures miss them.
    public var unrecordedEvents = 0
    public var unrecordedFrom: Date?
    public var unrecordedUntil: Date?

    public init(events: [ServiceEvent], since: Date? = nil) {
        // A gap counts when any of it falls in the period.
        let events = since.map { s in events.filter { $0.time >= s || ($0.until ?? .distantPast) >= s } } ?? events
        var conversations = Set<String>(), handedOff = Set<String>()
        var fallbacks = 0, clarifications = 0
        var topics: [String: Int] = [:]
        var handoffTime: [String: Date] = [:], claimWaits: [Double] = []
        var claimed = Set<String>()
        for e in events {
            if let c = e.conversation, e.kind != .agentAction { conversations.insert(c) }
            switch e.kind {
            case .message:
                messages += 1
                if e.route?.value == .fallback { fallbacks += 1 }
                if e.route?.value == .clarify { clarifications += 1 }
                if let t = e.topic, e.route?.value != .fallback { topics[t, default: 0] += 1 }
            case .handoff:
                if let c = e.conversation { handedOff.insert(c) }
                handoffReasons[e.reason?.rawValue ?? "unknown", default: 0] += 1
                if let t = e.ticket { handoffTime[t] = e.time }
            case .agentAction:
                if (e.action == .claim || e.action == .next), let t = e.ticket, !claimed.contains(t), let opened = handoffTime[t] {
                    claimed.insert(t)
                    claimWaits.append(e.time.timeIntervalSince(opened))
                }
            case .rating:
                if let s = e.score { ratings[s, default: 0] += 1 }
            case .conversationStart, .conversationEnd:
                break
            case .unrecorded:
                unrecordedEvents += e.count ?? 0
                unrecordedFrom = min(unrecordedFrom ?? e.time, e.time)
                unrecordedUntil = max(unrecordedUntil ?? e.time, e.until ?? e.time)
            }
        }
        self.conversations = conversations.count
        if !conversations.isEmpty {
            handoffRate = Double(handedOff.count) / Double(conversations.count)
            containmentRate = 1 - handoffRate
        }
        if messages > 0 {
            fallbackRate = Double(fallbacks) / Double(messages)
            clarificationRate = Double(clarifications) / Double(messages)
        }
        claimWaits.sort()
        if !claimWaits.isEmpty {
            medianSecondsToClaim = Measure.quantile(claimWaits, 0.5)
            p90SecondsToClaim = Measure.quantile(claimWaits, 0.9)
        }
        let rated = ratings.reduce(0) { $0 + $1.value }
        if rated > 0 { satisfactionAverage = Double(ratings.reduce(0) { $0 + $1.key * $1.value }) / Double(rated) }
        topTopics = topics.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10).map { ($0.key, $0.value) }
    }

    /// The figures as one JSON-ready object.
    public var dictionary: [String: Any] {
        [
            "conversations": conversations, "messages": messages, "containment_rate": containmentRate, "handoff_rate": handoffRate,
            "handoff_reasons": handoffReasons, "fallback_rate": fallbackRate, "clarification_rate": clarificationRate,
            "median_seconds_to_claim": medianSecondsToClaim ?? NSNull(), "p90_seconds_to_claim": p90SecondsToClaim ?? NSNull(),
            "satisfaction_average": satisfactionAverage ?? NSNull(),
            "satisfaction_distribution": Dictionary(uniqueKeysWithValues: ratings.map { (String($0.key), $0.value) }),
            "top_topics": topTopics.map { ["topic": $0.topic, "messages": $0.count] },
            "unrecorded_events": unrecordedEvents,
            "unrecorded_from": unrecordedFrom.map(Timestamp.format) ?? NSNull(),
            "unrecorded_until": unrecordedUntil.map(Timestamp.format) ?? NSNull(),
        ]
    }

    /// Says that the figures miss events, when they do.
    public var gapLine: String? {
        guard unrecordedEvents > 0, let from = unrecordedFrom, let until = unrecordedUntil else { return nil }
        return "\(unrecordedEvents) events could not be recorded between \(Timestamp.format(from)) and \(Timestamp.format(until)); figures are incomplete"
    }
}

extension ServiceMetrics {
    /// The figures as aligned text lines, as `kefu stats` prints them; `kefu report` adds its
    /// own lines after containment and before the top topics.
    public func textLines(afterContainment: [String] = [], beforeTopics: [String] = []) -> [String] {
        func pct(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
        func duration(_ s: Double) -> String { TicketJSON.duration(s) }
        var lines = gapLine.map { ["warning: " + $0] } ?? []
        lines += ["conversations        \(conversations) (\(messages) customer messages)",
                     "containment          \(pct(containmentRate)) closed without a person"]
        lines += afterContainment
        let reasons = handoffReasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        lines.append("handoff rate         \(pct(handoffRate))" + (reasons.isEmpty ? "" : "  — " + reasons.joined(separator: ", ")))
        lines.append("fallback rate        \(pct(fallbackRate)) of messages")
        lines.append("clarification rate   \(pct(clarificationRate)) of messages")
        if let median = medianSecondsToClaim, let p90 = p90SecondsToClaim {
            lines.append("time to claim        median \(duration(median)), p90 \(duration(p90))")
        } else {
            lines.append("time to claim        no ticket claimed yet")
        }
        if let average = satisfactionAverage {
            lines.append(String(format: "satisfaction         %.2f / 5  (", average) + (1...5).map { "\($0): \(ratings[$0] ?? 0)" }.joined(separator: ", ") + ")")
        } else {
            lines.append("satisfaction         no ratings yet")
        }
        lines += beforeTopics
        if !topTopics.isEmpty { lines.append("top topics           " + topTopics.prefix(5).map { "\($0.topic) \($0.count)" }.joined(separator: ", ")) }
        return lines
    }
}
