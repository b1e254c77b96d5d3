/// Reads the short replies that steer a conversation: yes and no, "1" / 「第二个」,
/// 「没用」, 「没有了」, a 1–5 rating. These are closed sets of words, not topics, so they are
/// matched as whole messages (after normalisation) rather than classified.
public enum ControlReplies {
    static let yes: Set<String> = ["好", "好的", "好啊", "好吧", "可以", "行", "行吧", "嗯", "嗯嗯", "是", "是的", "要", "需要", "转", "转吧",
                                   "转人工", "人工", "麻烦了", "ok", "okay", "yes", "y", "sure", "yes please", "please"]
    static let no: Set<String> = ["不用", "不用了", "不要", "不需要", "算了", "不了", "没事", "没事了", "no", "n", "no thanks", "nope"]
    static let notHelped = ["没用", "没有用", "还是不行", "不行", "没解决", "没有解决", "不对", "不是这个", "答非所问", "不是我要的",
                            "didnt help", "did not help", "not helpful", "doesnt work", "still not working", "wrong answer"]
    static let nothingElse: Set<String> = ["没有了", "没了", "没有", "不用了", "就这些", "没有别的了", "没其他的了", "没别的了", "nothing else",
                                           "thats all", "no more", "没有其他问题了", "没问题了", "好了"]
    static let ordinals: [String: Int] = ["一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5]

    /// The text with spaces and punctuation removed, lower-cased, simplified; empty for a
    /// message too long to be one of these short replies.
    static func key(_ normalized: NormalizedText) -> String {
        guard normalized.folded.count <= 32 else { return "" }
        return String(decoding: normalized.folded.filter { CharacterClass.of($0) != .separator })
    }

    public static func isYes(_ n: NormalizedText) -> Bool { yes.contains(key(n)) || yes.contains(n.text) }
    public static func isNo(_ n: NormalizedText) -> Bool { no.contains(key(n)) || no.contains(n.text) }
    public static func isNothingElse(_ n: NormalizedText) -> Bool { nothingElse.contains(key(n)) }

    /// 「没用」「还是不行」 as the whole point of a short message.
    public static func isNotHelped(_ n: NormalizedText) -> Bool {
        let k = n.folded.filter { CharacterClass.of($0) != .separator }
        guard k.count <= 12 else { return false }
        return notHelpedKeys.contains { KeywordMatcher.find($0, in: k) }
    }

    /// `notHelped` as scalar arrays without spaces, matched anywhere in a short message.
    static let notHelpedKeys: [[UInt32]] = notHelped.map { $0.unicodeScalars.map(\.value).filter { $0 != 0x20 } }

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
