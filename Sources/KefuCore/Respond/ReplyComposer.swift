import Foundation

/// Turns decisions into the centre's standard phrasing: greet, acknowledge, answer,
/// confirm, close. Every company value comes from `Intents/company.txt`.
struct ReplyComposer: Sendable {
    let kb: KnowledgeBase
    /// The customer's language: English customers get the English forms of the standard
    /// phrases where `[phrases.en]` has them.
    var language: TextLanguage = .zh

    func speaking(_ language: TextLanguage) -> ReplyComposer {
        var c = self
        c.language = language
        return c
    }

    /// A standard phrase; company values were filled in when the knowledge base was
    /// compiled, so only run-time values ({ticket}, {wait} …) are filled here. A phrase
    /// written as `a | b | c` has variants; `variant` picks one (the same number gives the
    /// same wording, so a conversation does not flip between forms at random).
    func phrase(_ key: String, _ extra: [String: String] = [:], variant: Int = 0) -> String {
        let forms = (language == .en ? kb.phraseForms[StandardPhrases.englishPrefix + key] : nil) ?? kb.phraseForms[key] ?? [""]
        let chosen = forms[abs(variant) % forms.count]
        return extra.isEmpty ? chosen : kb.company.fill(chosen, extra: extra)
    }

    /// One of the entry's answers, the same one throughout a conversation.
    func answer(_ entry: CompiledEntry, conversation: String) -> String {
        let answers = entry.filledAnswers
        return answers[Int(Self.hash(conversation) % UInt64(answers.count))]
    }

    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 1469598103934665603
        for b in text.utf8 { hash = (hash ^ UInt64(b)) &* 1099511628211 }
        return hash
    }

    /// "You may also want to know" lines for related entries.
    func related(_ entry: CompiledEntry) -> [String] {
        let questions = entry.entry.related.prefix(2).compactMap { id in kb.entryIndex[id].map { firstQuestion(kb.entries[$0]) } ?? nil }
        guard !questions.isEmpty else { return [] }
        return [(language == .en ? "You may also want to know: " : "您可能还想了解：") + questions.map { "「\($0)」" }.joined(separator: "、")]
    }

    /// After a lean answer: the other question the message may have meant, for 「不是」 to reach.
    func otherReading(_ entry: CompiledEntry) -> String? {
        firstQuestion(entry).map { phrase("other_reading", ["question": $0]) }
    }

    /// The entry's first phrasing, its first English one for an English customer.
    private func firstQuestion(_ e: CompiledEntry) -> String? {
        if language == .en, let english = e.entry.questions.first(where: { TextLanguage.of($0.text) == .en }) { return english.text }
        return e.entry.questions.first?.text
    }

    /// Numbered choices: the topic's name and the entry's first phrasing; for an English
    /// customer the entry's first English phrasing alone, when it has one.
    func choices(_ entryIDs: [String]) -> [String] {
        [phrase("choices")] + entryIDs.enumerated().map { i, id in
            let e = kb.entries[kb.entryIndex[id]!]
            if language == .en, let english = e.entry.questions.first(where: { TextLanguage.of($0.text) == .en }) {
                return "\(i + 1). \(english.text)"
            }
            let topicName = kb.topics[e.topic]?.name ?? e.topic
            return "\(i + 1). \(topicName)：\(e.entry.questions.first?.text ?? id)"
        }
    }

    /// What the bot can help with, from the topics' examples.
    func capabilities() -> String {
        let topics = kb.topicOrder.compactMap { kb.topics[$0] }.filter { $0.route == .answer && !KnowledgeBase.smallTalkTopics.contains($0.id) }
        if language == .en {
            return phrase("topics", ["topics": topics.prefix(8).map { $0.englishName ?? $0.name }.joined(separator: ", ")])
        }
        return phrase("topics", ["topics": topics.map(\.name).prefix(8).joined(separator: "、")])
    }

    /// "Around N minutes" for a wait in seconds.
    func describeWait(_ seconds: TimeInterval) -> String {
        let minutes = max(1, Int((seconds / 60).rounded()))
        return language == .en ? "about \(minutes) minute\(minutes == 1 ? "" : "s")" : "约\(minutes)分钟"
    }
}

/// The human service hours in the company profile (`human_open`, `human_close`, `timezone`).
struct ServiceHours: Sendable {
    let open: (hour: Int, minute: Int)
    let close: (hour: Int, minute: Int)
    let timeZone: TimeZone

    init(_ company: CompanyProfile) {
        func parse(_ text: String?, _ fallback: (Int, Int)) -> (Int, Int) {
            let parts = (text ?? "").split(separator: ":").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            return parts.count == 2 ? (parts[0], parts[1]) : fallback
        }
        open = parse(company["human_open"], (9, 0))
        close = parse(company["human_close"], (21, 0))
        timeZone = company["timezone"].flatMap { TimeZone(identifier: $0) } ?? TimeZone(identifier: "Asia/Shanghai")!
    }

    /// Whether a person is on duty at `date`.
    func isOpen(at date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.hour, .minute], from: date)
        let now = (c.hour ?? 0) * 60 + (c.minute ?? 0)
        let from = open.hour * 60 + open.minute, to = close.hour * 60 + close.minute  // 24:00 is the end of the day
        return from <= to ? (now >= from && now < to) : (now >= from || now < to)
    }
}
