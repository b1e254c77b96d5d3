/// "Did you mean …?": the one suggestion rule for every name a person types wrong (options,
/// commands, verbs, front matter keys).
public enum Suggestion {
    /// The candidate nearest to `word` by edit distance, if it is near enough to be a typo;
    /// among equally near ones, the first in `candidates`.
    public static func closest<S: Sequence>(_ word: String, among candidates: S) -> String? where S.Element == String {
        let scored = candidates.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        guard let best = scored, best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }

    /// Levenshtein distance over characters.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
