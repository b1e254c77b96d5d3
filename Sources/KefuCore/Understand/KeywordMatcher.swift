/// Finds an entry's keywords anywhere in a message: inside unsegmented Chinese too,
/// where a word-boundary matcher (Rasa's `\b…\b`) never fires.
struct KeywordMatcher: Sendable {
    struct Keyword: Sendable {
        let scalars: [UInt32]
        let text: String
        let weight: Float
        let latin: Bool
    }

    /// Keywords normalised exactly like messages, so 「退錢」 in a keyword list still
    /// matches a message that says 退款 after synonyms.
    static func keyword(_ text: String, weight: Float, normalizer: TextNormalizer) -> Keyword {
        let scalars = normalizer.normalize(text).scalars
        return Keyword(scalars: scalars, text: text, weight: weight, latin: isLatinWord(scalars))
    }

    /// Whether `needle` occurs anywhere in `haystack`.
    static func find(_ needle: [UInt32], in haystack: [UInt32]) -> Bool {
        haystack.indices.contains { matches(needle, in: haystack, at: $0, wholeWord: false) }
    }

    /// Whether `keyword` occurs in `s` starting exactly at `start`.
    static func occurs(_ keyword: Keyword, in s: [UInt32], at start: Int) -> Bool {
        matches(keyword.scalars, in: s, at: start, wholeWord: keyword.latin)
    }

    static func occurs(_ keyword: Keyword, in s: [UInt32]) -> Bool {
        s.indices.contains { matches(keyword.scalars, in: s, at: $0, wholeWord: keyword.latin) }
    }
}

/// A list of keywords looked for together: one pass over the message, each position looking
/// up only the keywords that start with its character.
struct KeywordSet: Sendable {
    let keywords: [KeywordMatcher.Keyword]
    private let byFirstScalar: [UInt32: [Int]]

    init(_ keywords: [KeywordMatcher.Keyword]) {
        self.keywords = keywords
        var index: [UInt32: [Int]] = [:]
        for (i, k) in keywords.enumerated() { if let first = k.scalars.first { index[first, default: []].append(i) } }
        byFirstScalar = index
    }

    /// The first keyword of the list that occurs anywhere in `s`.
    func firstListed(in s: [UInt32]) -> KeywordMatcher.Keyword? {
        var best: Int?
        for start in s.indices {
            guard let candidates = byFirstScalar[s[start]] else { continue }
            for k in candidates where k < (best ?? .max) && KeywordMatcher.occurs(keywords[k], in: s, at: start) { best = k }
        }
        return best.map { keywords[$0] }
    }

    func occurs(in s: [UInt32]) -> Bool {
        s.indices.contains { start in
            byFirstScalar[s[start]]?.contains { KeywordMatcher.occurs(keywords[$0], in: s, at: start) } ?? false
        }
    }
}
