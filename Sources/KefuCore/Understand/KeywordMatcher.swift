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
        return Keyword(scalars: scalars, text: text, weight: weight, latin: scalars.allSatisfy { CharacterClass.of($0) == .word })
    }

    /// Whether `needle` occurs anywhere in `haystack`.
    static func find(_ needle: [UInt32], in haystack: [UInt32]) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count else { return false }
        outer: for start in 0...(haystack.count - needle.count) {
            for j in 0..<needle.count where haystack[start + j] != needle[j] { continue outer }
            return true
        }
        return false
    }

    /// Whether `keyword` occurs in `s` starting exactly at `start`.
    static func occurs(_ keyword: Keyword, in s: [UInt32], at start: Int) -> Bool {
        let k = keyword.scalars
        let end = start + k.count
        guard !k.isEmpty, end <= s.count else { return false }
        for j in 0..<k.count where s[start + j] != k[j] { return false }
        if keyword.latin {
            if start > 0 && CharacterClass.of(s[start - 1]) == .word { return false }
            if end < s.count && CharacterClass.of(s[end]) == .word { return false }
        }
        return true
    }

    static func occurs(_ keyword: Keyword, in s: [UInt32]) -> Bool {
        let k = keyword.scalars
        guard !k.isEmpty, k.count <= s.count else { return false }
        outer: for start in 0...(s.count - k.count) {
            for j in 0..<k.count where s[start + j] != k[j] { continue outer }
            if keyword.latin {
                if start > 0 && CharacterClass.of(s[start - 1]) == .word { continue }
                let end = start + k.count
                if end < s.count && CharacterClass.of(s[end]) == .word { continue }
            }
            return true
        }
        return false
    }
}
