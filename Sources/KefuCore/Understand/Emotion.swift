/// How strongly a message signals that a person should take over.
public enum EmotionLevel: String, Sendable, Codable, Comparable {
    case calm, concerned, upset, high

    public static func < (a: EmotionLevel, b: EmotionLevel) -> Bool {
        let order: [EmotionLevel] = [.calm, .concerned, .upset, .high]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// The lexicon categories. Threat, money and safety are flags on their own: any one of
/// them hands the conversation to a person whatever the score.
public enum EmotionCategory: String, Sendable, CaseIterable, Codable {
    case anger, anxiety, insult, threat, money, safety, calm, negation, `repeat`
    /// Words that hold a negation word but deny nothing after them: 不如 ("might as well"),
    /// 不得不, 忍不住. 「不如一了百了」 is no 「不…一了百了」.
    case notNegation = "not_negation"
    /// Words that make a clause a supposition (如果, 万一, 以为, "in case"; 的话 after the cue):
    /// money lost in a supposition has not been lost (「如果以后卡被盗刷了该怎么办」). Unlike a
    /// negation they reach over the whole clause, and only money cues heed them: a danger or a
    /// threat stated as a condition (「再不退钱我就…」) still goes to a person.
    case hypothetical
}

/// One lexicon cue found in a message.
public struct EmotionCue: Sendable, Equatable {
    public let category: EmotionCategory
    public let cue: String
    public let weight: Float
    /// A negation word right before it cancelled it (「不着急」), or, for a money cue, the
    /// clause supposes the loss (「万一被盗刷了」): either way it did not happen.
    public let negated: Bool
}

/// The emotion reading of one message, with the cues that produced it.
public struct EmotionReading: Sendable, Equatable {
    public let score: Float
    public let level: EmotionLevel
    public let cues: [EmotionCue]
    /// "!!!", "???" and similar, with the weight they added.
    public let intensity: [(String, Float)]

    /// The learned model's anger (emotion + threat) when it raised the score, for explanations.
    public var modelAnger: Float? = nil

    init(score: Float, level: EmotionLevel, cues: [EmotionCue], intensity: [(String, Float)], modelAnger: Float? = nil) {
        self.score = score
        self.level = level
        self.cues = cues
        self.intensity = intensity
        self.modelAnger = modelAnger
    }

    public static func == (a: EmotionReading, b: EmotionReading) -> Bool {
        a.score == b.score && a.level == b.level && a.cues == b.cues
    }

    public func has(_ category: EmotionCategory) -> Bool {
        cues.contains { $0.category == category && !$0.negated }
    }

    /// Whether a cue of `category` is present under a negation (「没有人受伤」「打不着火」).
    public func hasNegated(_ category: EmotionCategory) -> Bool {
        cues.contains { $0.category == category && $0.negated }
    }

    /// This reading with its score raised to the handoff model's anger, when that is higher:
    /// the lexicon misses sarcasm and weariness it has no cue for; the model misses nothing
    /// the lexicon knows, so the higher of the two counts.
    /// Only from `floor`: below it the model's anger is too often a sad or tired post.
    func raised(toModelAnger anger: Float, from floor: Float) -> EmotionReading {
        guard anger > score, anger >= floor else { return self }
        return EmotionReading(score: (anger * 1000).rounded() / 1000, level: max(EmotionDetector.level(of: anger), level),
                              cues: cues, intensity: intensity, modelAnger: anger)
    }
}

/// Scores anger, anxiety, insults, threats, money loss and danger from the lexicon in
/// `Intents/emotion.txt`, plus punctuation intensity and repetition.
///
/// Cues are matched longest-first on the folded text (simplified, half-width, punctuation
/// kept), so 「不着急」 (calm) wins over 「着急」 (anxiety). Weights combine as a noisy-or:
/// each cue removes part of the remaining calm, so two mild cues make a medium score and
/// many cues approach 1 without passing it.
public struct EmotionDetector: Sendable {
    struct Cue: Sendable {
        let scalars: [UInt32]
        let text: String
        let category: EmotionCategory
        let weight: Float
        let latin: Bool
    }
    /// A cue written `A*B`: A, then B within `gappedCueReach` characters (「钱突然不见了」).
    struct GappedCue: Sendable {
        let first: [UInt32]
        let second: [UInt32]
        let text: String
        let category: EmotionCategory
        let weight: Float
    }
    private let cuesByFirstScalar: [UInt32: [Cue]]
    private let gappedCues: [GappedCue]
    private let negations: [[UInt32]]
    private let notNegations: [[UInt32]]
    private let hypotheticals: [[UInt32]]
    static let gappedCueReach = 6

    public static let levelBounds: (concerned: Float, upset: Float, high: Float) = (0.25, 0.45, 0.7)

    /// The level a score reaches (`levelBounds`).
    static func level(of score: Float) -> EmotionLevel {
        switch score {
        case levelBounds.high...: .high
        case levelBounds.upset...: .upset
        case levelBounds.concerned...: .concerned
        default: .calm
        }
    }

    public init(lexicon: [(category: EmotionCategory, cue: String, weight: Float)]) {
        var table: [UInt32: [Cue]] = [:]
        var negations: [[UInt32]] = [], notNegations: [[UInt32]] = [], hypotheticals: [[UInt32]] = []
        var gapped: [GappedCue] = []
        for item in lexicon {
            let parts = item.cue.split(separator: "*", maxSplits: 1).map { TextNormalizer.fold(String($0)) }
            if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty {
                gapped.append(GappedCue(first: parts[0], second: parts[1], text: item.cue, category: item.category, weight: item.weight))
                continue
            }
            let scalars = TextNormalizer.fold(item.cue)
            guard let first = scalars.first else { continue }
            if item.category == .negation { negations.append(scalars); continue }
            if item.category == .notNegation { notNegations.append(scalars); continue }
            if item.category == .hypothetical { hypotheticals.append(scalars); continue }
            let latin = isLatinWord(scalars)
            table[first, default: []].append(Cue(scalars: scalars, text: item.cue, category: item.category, weight: item.weight, latin: latin))
        }
        for key in table.keys { table[key]!.sort { $0.scalars.count > $1.scalars.count } }
        cuesByFirstScalar = table
        gappedCues = gapped
        self.negations = negations.sorted { $0.count > $1.count }
        self.notNegations = notNegations
        self.hypotheticals = hypotheticals
    }

    public func read(_ text: NormalizedText) -> EmotionReading {
        let s = text.folded
        var cues: [EmotionCue] = []
        var i = 0
        while i < s.count {
            guard let candidates = cuesByFirstScalar[s[i]], let cue = longestCue(candidates, in: s, at: i) else {
                i += 1
                continue
            }
            // Insults are never softened by a negation: 「你是不是傻」 is not calm.
            let negated = cue.category != .insult && isNegated(s, before: i)
                || cue.category == .money && isSupposed(s, cue: i..<i + cue.scalars.count)
            cues.append(EmotionCue(category: cue.category, cue: cue.text, weight: cue.weight, negated: negated))
            i += cue.scalars.count
        }
        for cue in gappedCues {
            if let start = Self.find(cue.first, in: s, from: 0) {
                let after = start + cue.first.count
                let limit = min(s.count, after + Self.gappedCueReach + cue.second.count)
                if let _ = Self.find(cue.second, in: Array(s[after..<limit]), from: 0),
                   !cues.contains(where: { $0.category == cue.category && !$0.negated }) {
                    let negated = isNegated(s, before: start) || cue.category == .money && isSupposed(s, cue: start..<after)
                    cues.append(EmotionCue(category: cue.category, cue: cue.text, weight: cue.weight, negated: negated))
                }
            }
        }
        var calmness: Float = 1
        var calmCue = false
        for cue in cues where !cue.negated {
            switch cue.category {
            case .calm: calmCue = true
            case .negation, .notNegation: break
            default: calmness *= (1 - min(max(cue.weight, 0), 1))
            }
        }
        let intensity = Self.intensity(of: s)
        for (_, w) in intensity { calmness *= (1 - w) }
        var score = 1 - calmness
        // A customer who says 不着急 / 慢慢来 is telling us the matter is not urgent.
        if calmCue { score *= 0.5 }
        return EmotionReading(score: (score * 1000).rounded() / 1000, level: Self.level(of: score), cues: cues, intensity: intensity)
    }

    private func longestCue(_ candidates: [Cue], in s: [UInt32], at start: Int) -> Cue? {
        candidates.first { matches($0.scalars, in: s, at: start, wholeWord: $0.latin) }
    }

    /// A negation word ending at most one character before `index` (「不太着急」, 「没有生气」).
    /// The A-not-A question forms 是不是 / 有没有 / 要不要 ask, they do not deny: in
    /// 「你们是不是想赖账」 the 不 belongs to the question, not to 赖账. A negation never reaches
    /// across punctuation: in 「身上一分钱没有，急死了」 the 没有 ends its own clause.
    private func isNegated(_ s: [UInt32], before index: Int) -> Bool {
        for negation in negations {
            for gap in 0...1 {
                let end = index - gap
                let start = end - negation.count
                guard start >= 0, Array(s[start..<end]) == negation else { continue }
                if gap == 1 && s[end] != 0x20 && CharacterClass.of(s[end]) == .separator { continue }
                if start >= 1 && end < s.count && s[start - 1] == s[end] { continue }  // X不X, X没X
                if partOfNotNegation(s, start..<end) { continue }
                return true
            }
        }
        return false
    }

    /// Whether the cue at `range` sits in a supposition: a `hypothetical` word earlier in its
    /// clause (「万一哪天卡被盗刷了」, "in case my card gets skimmed"), or one right after it
    /// (「被盗刷的话」). Clauses end at punctuation, as negations do.
    private func isSupposed(_ s: [UInt32], cue range: Range<Int>) -> Bool {
        guard !hypotheticals.isEmpty else { return false }
        var clauseStart = range.lowerBound
        while clauseStart > 0, !Self.endsClause(s[clauseStart - 1]) { clauseStart -= 1 }
        var clauseEnd = range.upperBound
        while clauseEnd < s.count, !Self.endsClause(s[clauseEnd]) { clauseEnd += 1 }
        return hypotheticals.contains { word in
            let latin = isLatinWord(word)
            return (clauseStart..<range.lowerBound).contains { matches(word, in: s, at: $0, wholeWord: latin) }
                || (range.upperBound..<min(range.upperBound + 2, clauseEnd)).contains { matches(word, in: s, at: $0, wholeWord: latin) }
        }
    }

    /// Punctuation that ends a clause (not a space: chat messages use spaces inside sentences).
    private static func endsClause(_ c: UInt32) -> Bool {
        c != 0x20 && CharacterClass.of(c) == .separator
    }

    /// Whether the negation word at `range` belongs to a listed word that denies nothing (不如).
    private func partOfNotNegation(_ s: [UInt32], _ range: Range<Int>) -> Bool {
        notNegations.contains { word in
            word.count >= range.count && (max(0, range.upperBound - word.count)...range.lowerBound).contains { start in
                start + word.count <= s.count && start + word.count >= range.upperBound && Array(s[start..<start + word.count]) == word
            }
        }
    }

    static func find(_ needle: [UInt32], in s: [UInt32], from: Int) -> Int? {
        (from..<max(from, s.count)).first { matches(needle, in: s, at: $0, wholeWord: false) }
    }

    /// Runs of "!" and "?" add intensity: "!!" a little, "!!!" more.
    static func intensity(of s: [UInt32]) -> [(String, Float)] {
        var result: [(String, Float)] = []
        var i = 0
        while i < s.count {
            let v = s[i]
            guard v == 0x21 || v == 0x3F else { i += 1; continue }
            var j = i
            var bangs = 0
            while j < s.count && (s[j] == 0x21 || s[j] == 0x3F) { if s[j] == 0x21 { bangs += 1 }; j += 1 }
            let run = j - i
            if run >= 2 {
                let weight: Float = run >= 3 ? (bangs > 0 ? 0.3 : 0.2) : (bangs > 0 ? 0.15 : 0.1)
                result.append((String(decoding: Array(s[i..<j])), weight))
            }
            i = j
        }
        return result
    }
}
