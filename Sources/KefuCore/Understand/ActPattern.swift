/// A phrasing of a dialogue act with choices in it, so that editors write the shape of a
/// reply once instead of every spelling: `没(有|)(别的|其他)(问题|事|)` is 没别的, 没有别的问题,
/// 没其他事 … (12 phrasings). `(a|b)` is one of a and b; an empty choice makes the group optional.
enum ActPattern {
    /// More spellings than this from one phrasing is a mistake in the file, not a wish.
    static let maxSpellings = 256

    /// Every phrasing `pattern` spells, in order; a phrasing without groups is itself.
    /// An unclosed `(` is taken literally.
    static func expand(_ pattern: String) -> [String] {
        var spellings = [""]
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "(") {
            guard let close = rest[open...].firstIndex(of: ")") else { break }
            let literal = rest[..<open]
            let choices = rest[rest.index(after: open)..<close].split(separator: "|", omittingEmptySubsequences: false)
            spellings = spellings.flatMap { head in choices.map { head + literal + $0 } }
            if spellings.count > maxSpellings * 4 { break }
            rest = rest[rest.index(after: close)...]
        }
        return spellings.map { $0 + rest }
    }
}
