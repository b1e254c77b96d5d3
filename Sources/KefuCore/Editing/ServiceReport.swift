import Foundation

/// The service figures for managers and, for editors, what customers asked that the bot
/// could not answer, grouped into clusters ready to become phrasings or entries.
///
/// Built from the event log (`EventLog.read`), whose text is already masked; messages are masked again
/// before clustering, since a log written by an older kefu may hold numbers its rules missed (masking
/// masked text changes nothing). The headline
/// figures are `ServiceMetrics`'s; this adds first-contact resolution, the busiest hours
/// in the company's timezone and the unanswered-message clusters.
///
/// **First-contact resolution.** Among conversations in which the customer raised a need
/// (at least one message that is not a greeting, thanks or goodbye), the share in which
/// (1) the bot answered a question, (2) no person was brought in, (3) the customer did not
/// say the answer did not help (「没用」「还是不行」… in a logged message), and (4) the same
/// customer did not come back within 24 hours of the conversation's last message with a
/// message on one of the same topics (a repeat contact means the first did not resolve it).
public struct ServiceReport: Sendable {
    /// Messages the bot could not answer, or answered with low confidence, that read alike.
    public struct Cluster: Sendable {
        /// Messages in the cluster, repeats included.
        public let size: Int
        /// Distinct texts, most frequent first.
        public let messages: [(text: String, count: Int)]
        /// The topic the classifier leans to for the cluster, or `out_of_scope`.
        public let suggestedTopic: String
        /// The entry it leans to within that topic (nil for out of scope).
        public let suggestedEntry: String?
        /// The cluster's average probability for the suggested topic.
        public let confidence: Double
        /// The closest in-scope topic and its average probability, even when too weak to suggest:
        /// where a new entry would sit nearest.
        public let nearestTopic: String?
        public let nearestConfidence: Double

        public func examples(_ limit: Int = 5) -> [String] { messages.prefix(limit).map(\.text) }
    }

    public struct Settings: Sendable {
        /// Below this top confidence an answered or clarified message counts as unsure.
        public var lowConfidence = 0.5
        /// A message joins a cluster at this cosine similarity to its centroid (IDF-weighted character bigrams).
        public var similarity = 0.22
        /// A cluster's topic is suggested when its average probability reaches this.
        public var topicFloor = 0.3
        /// At most this many distinct messages are clustered (the most frequent).
        public var maximumMessages = 3000
        /// Repeat contacts on the same topic within this many seconds undo first-contact resolution.
        public var repeatWindow: TimeInterval = 24 * 3600
        public init() {}
    }

    public let metrics: ServiceMetrics
    public let since: Date?
    public let firstEvent: Date?
    public let lastEvent: Date?
    public let timeZone: TimeZone
    /// Conversations in which the customer raised a need, and those resolved at first contact.
    public let needConversations: Int
    public let resolvedAtFirstContact: Int
    /// Customer messages per hour of day (0…23) in `timeZone`.
    public let hourly: [Int]
    public let unansweredMessages: Int
    public let clusters: [Cluster]
    /// Topics of the messages the bot answered, clarified or handed off, most frequent first;
    /// greetings, thanks and goodbyes left out (they say nothing about what customers need).
    public let topTopics: [(topic: String, count: Int)]
    /// Topic id → the name shown to customers.
    public let topicNames: [String: String]

    public var firstContactResolution: Double? {
        needConversations == 0 ? nil : Double(resolvedAtFirstContact) / Double(needConversations)
    }

    /// The busiest hours, most messages first (ties: earlier hour first), empty hours left out.
    public var busiestHours: [(hour: Int, messages: Int)] {
        hourly.enumerated().filter { $0.element > 0 }.sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .prefix(3).map { ($0.offset, $0.element) }
    }

    public init(events allEvents: [ServiceEvent], kb: KnowledgeBase, since: Date? = nil, settings: Settings = Settings()) {
        let events = since.map { s in allEvents.filter { $0.time >= s } } ?? allEvents
        self.since = since
        metrics = ServiceMetrics(events: allEvents, since: since)
        firstEvent = events.map(\.time).min()
        lastEvent = events.map(\.time).max()
        timeZone = kb.company["timezone"].flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "Asia/Shanghai")!
        topicNames = kb.topics.mapValues(\.name)

        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var hourly = [Int](repeating: 0, count: 24)
        for e in events where e.kind == .message {
            hourly[calendar.component(.hour, from: e.time)] += 1
        }
        self.hourly = hourly
        var topicCounts: [String: Int] = [:]
        for e in events where e.kind == .message && e.route?.value != .fallback {
            if let t = e.topic, t != KnowledgeBase.outOfScopeTopic, !KnowledgeBase.smallTalkTopics.contains(t) { topicCounts[t, default: 0] += 1 }
        }
        topTopics = topicCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10).map { ($0.key, $0.value) }

        (needConversations, resolvedAtFirstContact) = Self.firstContact(events, kb: kb, window: settings.repeatWindow)

        let normalizer = kb.classifier.normalizer
        let unsure = events.filter { e in
            guard e.kind == .message, let text = e.text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return false }
            // 「5」「好的」「没用」 steer the conversation; they are no question to add to the FAQ.
            let n = normalizer.normalize(text)
            if kb.acts.read(n) != nil || ControlReplies.rating(n) != nil { return false }
            if e.route?.value == .fallback { return true }
            return (e.route?.value == .answer || e.route?.value == .clarify) && (e.confidence ?? 0) < settings.lowConfidence
        }
        unansweredMessages = unsure.count
        clusters = Self.cluster(unsure.compactMap(\.text).map(PrivacyMask.mask), kb: kb, settings: settings)
    }

    // MARK: - First-contact resolution

    static func firstContact(_ events: [ServiceEvent], kb: KnowledgeBase, window: TimeInterval) -> (need: Int, resolved: Int) {
        struct Conversation {
            var customer: String?
            var first: Date
            var last: Date
            var topics = Set<String>()
            var raisedNeed = false
            var answered = false
            var handedOff = false
            var notHelped = false
        }
        var conversations: [String: Conversation] = [:]
        let normalizer = kb.classifier.normalizer
        for e in events {
            guard let id = e.conversation, e.kind != .agentAction else { continue }
            var c = conversations[id] ?? Conversation(customer: e.customer, first: e.time, last: e.time)
            c.customer = c.customer ?? e.customer
            c.first = min(c.first, e.time)
            switch e.kind {
            case .message:
                c.last = max(c.last, e.time)
                let topic = e.topic ?? KnowledgeBase.outOfScopeTopic
                if !KnowledgeBase.smallTalkTopics.contains(topic) { c.raisedNeed = true }
                if e.route?.value != .fallback, topic != KnowledgeBase.outOfScopeTopic, !KnowledgeBase.smallTalkTopics.contains(topic) {
                    c.topics.insert(topic)
                    if e.route?.value == .answer && kb.topics[topic]?.route != .handoff { c.answered = true }
                }
                if let text = e.text, kb.acts.read(normalizer.normalize(text))?.has(.notHelped) == true { c.notHelped = true }
            case .handoff:
                c.handedOff = true
            default:
                break
            }
            conversations[id] = c
        }
        var byCustomer: [String: [Conversation]] = [:]
        for c in conversations.values { if let customer = c.customer { byCustomer[customer, default: []].append(c) } }
        var need = 0, resolved = 0
        for c in conversations.values where c.raisedNeed {
            need += 1
            guard c.answered, !c.handedOff, !c.notHelped else { continue }
            let repeated = (c.customer.flatMap { byCustomer[$0] } ?? []).contains { other in
                other.first > c.last && other.first.timeIntervalSince(c.last) <= window && !other.topics.isDisjoint(with: c.topics)
            }
            if !repeated { resolved += 1 }
        }
        return (need, resolved)
    }

    // MARK: - Clusters

    /// Greedy, deterministic clustering: distinct messages in order of frequency (then text)
    /// each join the cluster whose centroid they are closest to (cosine over characters,
    /// character bigrams and Latin words, weighted by IDF), when that reaches the threshold, or start a new one.
    /// The IDF is counted over the FAQ phrasings and the messages together, so bigrams every
    /// question has (怎么, 什么, 我的 …) weigh little and the words that carry the need
    /// (发票, 利率 …) weigh much.
    static func cluster(_ texts: [String], kb: KnowledgeBase, settings: Settings) -> [Cluster] {
        let normalizer = kb.classifier.normalizer
        var counts: [String: (text: String, count: Int)] = [:]
        var keyOrder: [String] = []
        for text in texts {
            let key = String(decoding: normalizer.normalize(text).scalars.filter { $0 != 0x20 })
            guard !key.isEmpty else { continue }
            if let existing = counts[key] { counts[key] = (existing.text, existing.count + 1) } else {
                counts[key] = (text, 1)
                keyOrder.append(key)
            }
        }
        let distinct = keyOrder.map { (key: $0, text: counts[$0]!.text, count: counts[$0]!.count) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.key < $1.key }
            .prefix(settings.maximumMessages)
        let grams = distinct.map { bigrams(normalizer.normalize($0.text).scalars) }
        var documentFrequency: [UInt64: Int] = [:]
        var documents = 0
        for e in kb.entries {
            for q in e.entry.questions {
                documents += 1
                for g in bigrams(normalizer.normalize(q.text).scalars) { documentFrequency[g, default: 0] += 1 }
            }
        }
        for g in grams {
            documents += 1
            for b in g { documentFrequency[b, default: 0] += 1 }
        }
        let n = Double(documents)
        let vectors: [[UInt64: Double]] = grams.map { g in
            var v: [UInt64: Double] = [:]
            for b in g { v[b] = log((n + 1) / Double((documentFrequency[b] ?? 0) + 1)) + 1 }
            return normalized(v)
        }

        var members: [[Int]] = []
        var centroids: [[UInt64: Double]] = []
        for (i, v) in vectors.enumerated() {
            var best = -1, bestScore = 0.0
            for (c, centroid) in centroids.enumerated() {
                let score = dot(v, centroid)
                if score > bestScore { best = c; bestScore = score }
            }
            if best >= 0 && bestScore >= settings.similarity {
                members[best].append(i)
                var sum: [UInt64: Double] = [:]
                for m in members[best] { for (k, w) in vectors[m] { sum[k, default: 0] += w } }
                centroids[best] = normalized(sum)
            } else {
                members.append([i])
                centroids.append(v)
            }
        }

        var clusters: [Cluster] = []
        for list in members {
            let messages = list.map { (distinct[$0].text, distinct[$0].count) }
            var topicMass: [String: Double] = [:], entryMass: [String: Double] = [:]
            var weight = 0.0
            for (text, count) in messages {
                let u = kb.understand(text)
                for c in u.candidates {
                    topicMass[c.topic, default: 0] += Double(c.probability) * Double(count)
                    entryMass[c.entryID, default: 0] += Double(c.probability) * Double(count)
                }
                weight += Double(count)
            }
            let ranked = topicMass.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            let outOfScopeMass = (topicMass[KnowledgeBase.outOfScopeTopic] ?? 0) / max(1, weight)
            let nearest = ranked.first { $0.key != KnowledgeBase.outOfScopeTopic }
            let nearestMass = (nearest?.value ?? 0) / max(1, weight)
            var topic = KnowledgeBase.outOfScopeTopic
            var entry: String?
            var confidence = outOfScopeMass
            if let nearest, nearestMass >= settings.topicFloor, nearestMass > outOfScopeMass {
                topic = nearest.key
                confidence = nearestMass
                entry = entryMass.filter { id, _ in kb.entryIndex[id].map { kb.entries[$0].topic == topic } ?? false }
                    .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.first?.key
            }
            clusters.append(Cluster(size: messages.reduce(0) { $0 + $1.1 }, messages: messages.map { (text: $0.0, count: $0.1) },
                                    suggestedTopic: topic, suggestedEntry: entry, confidence: rounded(confidence),
                                    nearestTopic: nearest?.key, nearestConfidence: rounded(nearestMass)))
        }
        return clusters.sorted { a, b in
            a.size != b.size ? a.size > b.size : (a.messages.first?.text ?? "") < (b.messages.first?.text ?? "")
        }
    }

    /// The features two messages are compared on: in Chinese every character and every
    /// character bigram, in Latin text every word (normalised text: folded, simplified,
    /// synonyms applied). Hashed to 64 bits like the classifier's features.
    static func bigrams(_ s: [UInt32]) -> Set<UInt64> {
        var result = Set<UInt64>()
        var i = 0
        while i < s.count {
            let kind = CharacterClass.of(s[i])
            var j = i
            while j < s.count && CharacterClass.of(s[j]) == kind { j += 1 }
            switch kind {
            case .ideograph:
                for k in i..<j {
                    result.insert(UInt64(s[k]))
                    if k + 1 < j { result.insert(UInt64(s[k]) << 32 | UInt64(s[k + 1])) }
                }
            case .word:
                var h: UInt64 = 0xcbf29ce484222325
                for k in i..<j { h = (h ^ UInt64(s[k])) &* 0x100000001b3 }
                result.insert(h | 1 << 63)
            case .separator:
                break
            }
            i = j
        }
        return result
    }

    static func rounded(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

    static func normalized(_ v: [UInt64: Double]) -> [UInt64: Double] {
        let norm = v.values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.mapValues { $0 / norm } : v
    }

    static func dot(_ a: [UInt64: Double], _ b: [UInt64: Double]) -> Double {
        let (small, large) = a.count <= b.count ? (a, b) : (b, a)
        var sum = 0.0
        for (k, w) in small { if let x = large[k] { sum += w * x } }
        return sum
    }

    // MARK: - Output

    /// Reason code → the words a manager reads.
    public static func reasonName(_ code: String) -> String {
        HandoffReason(rawValue: code).flatMap { Dialogue.reasonName[$0] } ?? code
    }

    /// Everything as one JSON-ready object.
    public var dictionary: [String: Any] {
        var d = metrics.dictionary
        let iso = ISO8601DateFormatter()
        iso.timeZone = timeZone
        d["first_contact_resolution"] = firstContactResolution ?? NSNull()
        d["first_contact_conversations"] = needConversations
        d["first_contact_resolved"] = resolvedAtFirstContact
        d["satisfaction_distribution"] = Dictionary(uniqueKeysWithValues: (1...5).map { (String($0), metrics.ratings[$0] ?? 0) })
        d["ratings"] = metrics.ratings.values.reduce(0, +)
        d["timezone"] = timeZone.identifier
        d["hourly_messages"] = hourly
        d["busiest_hours"] = busiestHours.map { ["hour": $0.hour, "messages": $0.messages] }
        d["top_topics"] = topTopics.map { ["topic": $0.topic, "name": topicNames[$0.topic] ?? $0.topic, "messages": $0.count] }
        func time(_ date: Date?) -> Any { date.map { iso.string(from: $0) as Any } ?? NSNull() }
        d["since"] = time(since)
        d["period"] = ["from": time(firstEvent), "to": time(lastEvent)]
        d["unanswered_messages"] = unansweredMessages
        d["unanswered_clusters"] = clusters.map { c -> [String: Any] in
            ["size": c.size, "distinct": c.messages.count, "examples": c.examples(), "suggested_topic": c.suggestedTopic,
             "suggested_entry": c.suggestedEntry ?? NSNull(), "confidence": c.confidence,
             "nearest_topic": c.nearestTopic ?? NSNull(), "nearest_confidence": c.nearestConfidence]
        }
        return d
    }
}
