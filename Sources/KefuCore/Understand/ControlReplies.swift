/// Reads the numbers that steer a conversation: a choice among offered options (「1」「第二个」
/// 「选3」「option 2」) and a 1–5 rating (「5」「5分」「4 stars」). The words customers use for
/// everything else — yes, no, 好的, 没用, 转人工, 算了, 五星好评 — are dialogue acts, listed by
/// editors in `Intents/acts.txt` (`DialogueActLexicon`).
public enum ControlReplies {
    static let ordinals: [String: Int] = ["一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5]

    /// A choice among `count` options: 「1」「第二个」「选3」「option 2」.
    public static func choice(_ n: NormalizedText, count: Int) -> Int? {
        let k = String(decoding: stripping(choiceWords, from: n))
        guard let value = ordinals[k], (1...count).contains(value) else { return nil }
        return value
    }

    static let choiceWords = ["那个", "option", "number", "第", "个", "项", "选", "no", "吧", "条"].map { $0.unicodeScalars.map(\.value) }
    static let ratingWords = ["颗星", "stars", "star", "points", "分", "星", "给", "打"].map { $0.unicodeScalars.map(\.value) }

    /// The message's letters and digits with every occurrence of `words` removed (longest
    /// listed first). Choices and ratings are short, so a long message is not stripped at all
    /// (this runs on every message of a conversation that was offered choices).
    static func stripping(_ words: [[UInt32]], from n: NormalizedText) -> [UInt32] {
        guard n.folded.count <= 32 else { return [] }
        let k = n.folded.filter { CharacterClass.of($0) != .separator }
        var out: [UInt32] = []
        var i = 0
        outer: while i < k.count {
            for w in words where i + w.count <= k.count && k[i..<(i + w.count)].elementsEqual(w) {
                i += w.count
                continue outer
            }
            out.append(k[i])
            i += 1
        }
        return out
    }

    /// A 1–5 rating: 「5」「5分」「五星」「4 stars」.
    public static func rating(_ n: NormalizedText) -> Int? {
        let k = String(decoding: stripping(ratingWords, from: n))
        guard let value = ordinals[k], (1...5).contains(value) else { return nil }
        return value
    }
}
