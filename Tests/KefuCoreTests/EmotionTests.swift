import Testing
@testable import KefuCore

@Suite("Emotion")
struct EmotionTests {
    let detector = EmotionDetector(lexicon: [
        (.anger, "气死", 0.7), (.anger, "太差", 0.5), (.anxiety, "着急", 0.4), (.calm, "不着急", 0.8),
        (.insult, "傻逼", 1.0), (.threat, "12315", 1.0), (.threat, "律师", 0.9), (.money, "盗刷", 1.0),
        (.safety, "冒烟", 1.0), (.safety, "受伤", 1.0), (.negation, "不", 1), (.negation, "没有", 1), (.negation, "没", 1),
        (.repeat, "第三次", 0.4), (.anger, "angry", 0.6), (.safety, "一了百了", 1.0), (.notNegation, "不如", 1),
    ])
    func read(_ text: String) -> EmotionReading { detector.read(TextNormalizer().normalize(text)) }

    @Test("a routine question is calm")
    func routineIsCalm() {
        #expect(read("请问信用卡怎么还款").level == .calm)
        #expect(read("请问信用卡怎么还款").score == 0)
    }

    @Test("anger with exclamation marks reaches the high level")
    func angerWithIntensity() {
        #expect(read("气死我了！！！服务太差！！！").level == .high)
    }

    @Test("「不着急」 is calm, although it contains 着急")
    func negatedUrgencyIsCalm() {
        let r = read("我不着急，慢慢处理")
        #expect(r.level == .calm)
        #expect(!r.has(.anxiety))
    }

    @Test("a negation word before a cue cancels it")
    func negationCancels() {
        #expect(!read("没有人受伤").has(.safety))
        #expect(read("孩子受伤了").has(.safety))
    }

    @Test("a word that holds a negation but denies nothing (不如) leaves the danger after it said")
    func notNegationLeavesTheCue() {
        let r = read("不如一了百了")
        #expect(r.has(.safety))
        #expect(!r.hasNegated(.safety))
        #expect(read("不一了百了").hasNegated(.safety), "不 alone still denies")
    }

    @Test("a negation does not reach across punctuation")
    func negationStopsAtPunctuation() {
        #expect(read("回电一直没有，着急").has(.anxiety))
        #expect(!read("没着急").has(.anxiety))
    }

    @Test("an insult inside a rhetorical 是不是 question is not negated")
    func rhetoricalInsult() {
        let r = read("你们是不是傻逼")
        #expect(r.has(.insult))
        #expect(r.level == .high)
    }

    @Test("threats, money loss and danger are flagged whatever the score")
    func flags() {
        #expect(read("再不处理我打12315").has(.threat))
        #expect(read("我的卡被盗刷了").has(.money))
        #expect(read("熱水器冒煙了").has(.safety))
    }

    @Test("repetition raises the score")
    func repetitionRaises() {
        #expect(read("这是第三次问了").score > read("这是问了").score)
    }

    @Test("an English cue needs word boundaries")
    func englishCueBoundaries() {
        #expect(read("I am angry").level > .calm)
        #expect(read("Angrybirds game").level == .calm)
    }
}
