import Testing
@testable import KefuCore

@Suite("Normalisation")
struct NormalizationTests {
    let normalizer = TextNormalizer()

    @Test("traditional and simplified Chinese normalise to the same text")
    func traditionalEqualsSimplified() {
        #expect(normalizer.normalize("我的信用卡掛失了怎麼辦").text == normalizer.normalize("我的信用卡挂失了怎么办").text)
        #expect(normalizer.normalize("銀行帳戶餘額").text == "银行帐户余额")
    }

    @Test("full-width letters and digits become half-width and lower case")
    func fullWidthFolds() {
        #expect(normalizer.normalize("ＡＰＰ登录不了１２３").text == "app登录不了123")
        #expect(normalizer.normalize("HELLO World").text == "hello world")
    }

    @Test("punctuation and emoji become single spaces, the original is kept")
    func punctuationAndEmoji() {
        let n = normalizer.normalize("退款！！怎么办😡？？ 急")
        #expect(n.text == "退款 怎么办 急")
        #expect(n.original == "退款！！怎么办😡？？ 急")
    }

    @Test("folded text keeps intensity punctuation for the emotion detector")
    func foldedKeepsPunctuation() {
        #expect(normalizer.normalize("氣死了！！！").foldedText == "气死了!!!")
    }

    @Test("an apostrophe inside an English word joins it")
    func apostropheJoins() {
        #expect(normalizer.normalize("What's my balance?").text == "whats my balance")
    }

    @Test("synonyms replace the longest variant, in Chinese without word boundaries")
    func synonymsLongestFirst() {
        let table = SynonymTable(pairs: [("退钱", "退款"), ("客服人员", "人工"), ("客服", "客服中心")])
        let n = TextNormalizer(synonyms: table)
        #expect(n.normalize("我要退钱").text == "我要退款")
        #expect(n.normalize("找客服人员").text == "找人工")
        #expect(n.normalize("找客服").text == "找客服中心")
    }

    @Test("a Latin synonym only replaces whole words")
    func latinSynonymNeedsWordBoundary() {
        let n = TextNormalizer(synonyms: SynonymTable(pairs: [("agent", "人工")]))
        #expect(n.normalize("agent please").text == "人工 please")
        #expect(n.normalize("agenda please").text == "agenda please")
    }
}
