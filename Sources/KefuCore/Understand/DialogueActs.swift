/// The short replies that steer a conversation rather than ask a question: yes, no, 好的,
/// 没用, 转人工, 算了, 还要等多久, a rating. Editors list them in `Intents/acts.txt`.
public enum DialogueAct: String, Sendable, CaseIterable {
    case affirm, deny, acknowledge, resolved, thanks, goodbye
    case nothingElse = "nothing_else"
    case notHelped = "not_helped"
    case requestPerson = "request_person"
    case cancel
    case askPosition = "ask_position"
    case rating
    /// A danger dealt with (「窗户开了，人出来了」, "we're out"): on a waiting safety case the
    /// bot thanks and reassures instead of repeating the whole advice.
    case safeNow = "safe_now"
    /// Words that keep a danger current (「还在」「越来越」「出不来」, "still") beside a
    /// `safeNow` phrasing: 「门开了，火越来越大」 is still a danger.
    case stillInDanger = "still_in_danger"
}

/// What a message says as dialogue acts: every act it is made of, in order, and the score
/// when one of them is a rating. 「收到，谢谢」 is acknowledge + thanks; 「没用，转人工」 is
/// not helped + request a person.
public struct ActReading: Sendable, Equatable {
    public let acts: [DialogueAct]
    public let rating: Int?
    /// The listed phrasings that matched, for `kefu explain`.
    public let phrases: [String]

    public func has(_ act: DialogueAct) -> Bool { acts.contains(act) }

    /// Only acts from `allowed` (and at least one of them): 「好的，谢谢」 is a way of closing.
    public func only(_ allowed: Set<DialogueAct>) -> Bool { !acts.isEmpty && acts.allSatisfy(allowed.contains) }
}

/// Reads dialogue acts: a message counts when the whole of it (after normalisation, without
/// punctuation and spaces) is made of listed phrasings, with particles (呀 啊 吧) and repeated
/// characters (嗯嗯嗯) allowed between them. Anything else is a question for the classifier,
/// so 「好的，那怎么退款」 is never mistaken for an acknowledgement.
public struct DialogueActLexicon: Sendable {
    struct Phrase: Sendable {
        let scalars: [UInt32]
        let text: String
        let act: DialogueAct
        let score: Int?
    }

    /// Phrasings by their first scalar, longest first.
    let byFirst: [UInt32: [Phrase]]
    /// The `request_person` phrasings that ask for a person anywhere in a message (`asksInWords`),
    /// by their first scalar.
    let requestsInWords: [UInt32: [Phrase]]
    let particles: [[UInt32]]
    /// Acts are short: longer messages are never read as acts (and cost nothing here).
    static let maxLength = 24
    /// Denials that decline what follows them rather than answer a question.
    static let declining: Set<String> = ["不需要", "不用", "不要", "no need", "no need to"]

    public static let empty = DialogueActLexicon(phrases: [], particles: [])

    /// `phrases`: (text, act, rating score); texts are folded like messages.
    public init(phrases: [(text: String, act: DialogueAct, score: Int?)], particles: [String]) {
        var byFirst: [UInt32: [Phrase]] = [:]
        for p in phrases {
            let key = Self.key(TextNormalizer.fold(p.text))
            guard let first = key.first else { continue }
            byFirst[first, default: []].append(Phrase(scalars: key, text: p.text, act: p.act, score: p.score))
        }
        self.byFirst = byFirst.mapValues { $0.sorted { $0.scalars.count > $1.scalars.count } }
        requestsInWords = self.byFirst.mapValues { $0.filter { $0.act == .requestPerson && Self.asksInWords($0.text) } }.filter { !$0.value.isEmpty }
        self.particles = particles.map { Self.key(TextNormalizer.fold($0)) }.filter { !$0.isEmpty }.sorted { $0.count > $1.count }
    }

    /// The folded text without separators (spaces, punctuation, emoji).
    static func key(_ folded: [UInt32]) -> [UInt32] {
        folded.filter { CharacterClass.of($0) != .separator }
    }

    /// The first phrasing of `index` that occurs in `k` (a message's key) and that `accept`
    /// takes at its position: the one scan behind `mentions`, `requestInWords` and
    /// `declinesPerson`.
    private static func firstOccurrence(in k: [UInt32], of index: [UInt32: [Phrase]], accept: (Phrase, Int) -> Bool) -> Phrase? {
        for i in k.indices {
            for p in index[k[i]] ?? [] where i + p.scalars.count <= k.count && k[i..<(i + p.scalars.count)].elementsEqual(p.scalars) && accept(p, i) {
                return p
            }
        }
        return nil
    }

    /// Whether a negation (「不需要」, "don't want to") ends right before position `i` of `k`.
    private static func negated(_ k: [UInt32], before i: Int) -> Bool {
        let before = String(decoding: Array(k[max(0, i - 14)..<i]))
        return negations.contains { before.hasSuffix($0) }
    }

    /// Whether a phrasing of `act` occurs anywhere in a short message: 「想了想还是算了，不投诉了」
    /// withdraws a complaint although it says more than the act. Only for steps where the act
    /// is what the bot waits for (withdrawing a complaint or a place in the queue).
    public func mentions(_ act: DialogueAct, in n: NormalizedText) -> String? {
        let k = Self.key(n.folded)
        guard k.count <= Self.maxLength * 2 else { return nil }
        return Self.firstOccurrence(in: k, of: byFirst) { p, i in p.act == act && p.scalars.count >= 2 && !Self.asksEitherWay(k, at: i) }?.text
    }

    /// A negation inside a "V not V" question (「使唔使挂失」「要不要冻结」「用不用等」): it asks
    /// whether, it declines nothing.
    static func asksEitherWay(_ k: [UInt32], at i: Int) -> Bool {
        guard i > 0, i + 1 < k.count, Self.negators.contains(k[i]) else { return false }
        return k[i - 1] == k[i + 1]
    }
    static let negators = Set(["不", "唔", "没", "冇"].map { $0.unicodeScalars.first!.value })

    /// A request for a person in so many words inside a longer message ("can I talk to
    /// someone about my loan", 「想找人工看下原因」), not right after a negation ("I don't need
    /// to talk to someone", 「不用转人工」): see `asksInWords` for the phrasings that count.
    public func requestInWords(_ n: NormalizedText) -> String? {
        guard !requestsInWords.isEmpty else { return nil }
        let k = Self.key(n.folded)
        return Self.firstOccurrence(in: k, of: requestsInWords) { _, i in !Self.negated(k, before: i) }?.text
    }

    /// The `request_person` phrasings that ask for a person wherever they stand: English ones of
    /// three words or more, and Chinese ones that put a verb to 人工 (找人工, 转人工) or a
    /// transfer to 客服 (转客服, 转接客服). 人工 or 客服 alone inside a question (「人工服务几点
    /// 下班」) asks about the service; 找客服 is also finding where to write (「找客服入口太难找了」),
    /// and 找个人 or 要真人 occur in other sentences (「找个人少的网点」「需要真人认证吗」).
    static func asksInWords(_ text: String) -> Bool {
        if text.unicodeScalars.contains(where: { ("a"..."z").contains($0) }) { return text.split(separator: " ").count >= 3 }
        guard text.count >= 3, let first = text.first else { return false }
        return text.contains("人工") && personVerbs.contains(first) || text.contains("客服") && transferVerbs.contains(first)
            || text.hasSuffix("真人") && findVerbs.contains(first)
    }
    /// 「找真人」「搵真人」 ask for one wherever they stand; 「需要真人认证吗」 does not.
    static let findVerbs: Set<Character> = ["找", "搵", "转"]
    static let personVerbs: Set<Character> = ["转", "找", "要", "我", "请", "接", "叫", "安"]
    static let transferVerbs: Set<Character> = ["转", "接", "安"]

    /// Words that, right before a request for a person, decline one (spaces removed).
    static let negations = ["dont", "donot", "dontneedto", "donotneedto", "dontwantto", "donotwantto", "noneedto", "not", "never", "neverwantto",
                            "dontneed", "dontneeda", "dontneedan", "noneedfor", "noneedfora", "noneedforan", "dontwant", "dontwanta", "dontwantan",
                            "不用", "不需要", "不要", "无需", "不必", "别", "唔使", "不是要", "不是想", "不想", "没想", "并不想", "唔想", "不用转", "不需要转", "不要转", "不用找", "不需要找", "别转"]

    /// A person declined in so many words inside a message (「不需要人工客服，帮我查下快递」,
    /// "I don't want to talk to a human, just tell me the fee"): a `request_person` phrasing
    /// right after a negation. Asked only when the router is about to hand off for a request.
    public func declinesPerson(_ n: NormalizedText) -> String? {
        let k = Self.key(n.folded)
        return Self.firstOccurrence(in: k, of: byFirst) { p, i in p.act == .requestPerson && p.scalars.count >= 2 && Self.negated(k, before: i) }?.text
    }

    /// The acts the whole message is made of, or nil when it is not only acts.
    public func read(_ n: NormalizedText) -> ActReading? {
        guard n.folded.count <= Self.maxLength * 4 else { return nil }
        let k = Self.key(n.folded)
        // English words are long: "nope thats everything have a good day" is three acts.
        let limit = k.allSatisfy({ $0 < 0x80 }) ? Self.maxLength * 2 : Self.maxLength
        guard !k.isEmpty, k.count <= limit else { return nil }
        // Fewest pieces to cover the message; a phrase is one piece, a particle or a repeated
        // character costs nothing but must sit next to a phrase.
        let unreachable = Int.max
        var cost = [Int](repeating: unreachable, count: k.count + 1)
        var back = [(from: Int, phrase: Phrase?)](repeating: (0, nil), count: k.count + 1)
        cost[0] = 0
        for i in 0..<k.count where cost[i] != unreachable {
            for p in byFirst[k[i]] ?? [] where i + p.scalars.count <= k.count && k[i..<(i + p.scalars.count)].elementsEqual(p.scalars) {
                let j = i + p.scalars.count
                if cost[i] + 1 < cost[j] { cost[j] = cost[i] + 1; back[j] = (i, p) }
            }
            for particle in particles where i + particle.count <= k.count && k[i..<(i + particle.count)].elementsEqual(particle) {
                let j = i + particle.count
                if cost[i] < cost[j] { cost[j] = cost[i]; back[j] = (i, nil) }
            }
            if i > 0, k[i] == k[i - 1], cost[i] < cost[i + 1] { cost[i + 1] = cost[i]; back[i + 1] = (i, nil) }
        }
        guard cost[k.count] != unreachable, cost[k.count] > 0 else { return nil }
        var pieces: [Phrase] = []
        var at = k.count
        while at > 0 {
            let step = back[at]
            if let p = step.phrase { pieces.append(p) }
            at = step.from
        }
        pieces.reverse()
        var acts = pieces.map(\.act), phrases = pieces.map(\.text)
        // 「不需要」「不用」「不要」 + 「真人」: a person declined, not asked for (「不是，我要人工」
        // still asks for one).
        for i in acts.indices.dropFirst().reversed() where acts[i] == .requestPerson && [.deny, .cancel].contains(acts[i - 1])
            && Self.declining.contains(phrases[i - 1]) && !phrases[i].hasPrefix("我") {
            acts.replaceSubrange((i - 1)...i, with: [.cancel])
            phrases.replaceSubrange((i - 1)...i, with: [phrases[i - 1] + phrases[i]])
        }
        return ActReading(acts: acts, rating: pieces.compactMap(\.score).last, phrases: phrases)
    }
}
