import Testing
@testable import KefuCore

@Suite("Routing a first message")
struct RoutingTests {
    static let kb: KnowledgeBase = try! KnowledgeFixture.make().load()
    func route(_ text: String) -> (RouteDecision, Understanding) {
        let u = Self.kb.understand(text)
        return (Self.kb.route(u), u)
    }

    @Test("a clear routine question is answered with its entry")
    func clearQuestionAnswered() {
        let (d, u) = route("银行卡丢了怎么办")
        #expect(d.route == .answer)
        #expect(u.top?.entryID == "card_loss")
        #expect(d.rule.contains("answer threshold"))
    }

    @Test("a synonym reaches the entry written with the canonical word")
    func synonymReachesEntry() {
        let (_, u) = route("我想返钱")
        #expect(u.top?.entryID == "refund")
    }

    @Test("traditional Chinese reaches the same entry as simplified")
    func traditionalSameEntry() {
        #expect(route("銀行卡丟了怎麼辦").1.top?.entryID == "card_loss")
    }

    @Test("an explicit request for a person is handed off as requested")
    func requestHandsOff() {
        let (d, _) = route("我要找真人")
        #expect(d.route == .handoff)
        #expect(d.reason == .requested)
    }

    @Test("a message sharing one character with the knowledge base falls back")
    func outOfScopeFallsBack() {
        let (d, _) = route("明天北京会下雪吗")
        #expect(d.route == .fallback)
        #expect(d.rule.contains("n-grams are known"))
    }

    @Test("danger, money loss and threats hand off before anything else", arguments: [
        ("热水器冒烟了", HandoffReason.safety), ("卡被盗刷了", .money), ("不退款我就打12315", .threat),
    ])
    func urgentHandsOff(text: String, reason: HandoffReason) {
        let (d, _) = route(text)
        #expect(d.route == .handoff)
        #expect(d.reason == reason)
    }

    @Test("high emotion hands off even on an answerable topic")
    func highEmotionHandsOff() {
        let (d, _) = route("退款到底怎么弄！！！气死我了！！！")
        #expect(d.route == .handoff)
        #expect(d.reason == .emotion)
    }

    @Test("a calm question that says 不着急 is answered, not handed off")
    func calmIsAnswered() {
        #expect(route("不着急，想问下怎么退款").0.route == .answer)
    }

    @Test("a message between two entries below the answer threshold asks which is meant")
    func ambiguousClarifies() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["card_service/card_apply.md"] = KnowledgeFixture.entry("card_apply", topic: "card_service",
            questions: ["怎么办卡", "我想办一张卡", "申请信用卡", "办信用卡", "apply for a card", "新办一张银行卡"])
        entries["card_service/card_loss.md"] = KnowledgeFixture.entry("card_loss", topic: "card_service",
            questions: ["卡丢了", "银行卡丢了", "信用卡挂失", "卡片遗失", "lost my card", "怎么挂失"])
        let kb = try KnowledgeFixture.make(entries: entries, intents: ["thresholds.txt": "[thresholds]\nanswer: 0.9\nfloor: 0.05\n"]).load()
        let u = kb.understand("卡")
        let d = kb.route(u)
        #expect(d.route == .clarify)
        #expect(u.candidates.count >= 2)
    }

    @Test("below the answer threshold but above lean_answer, a question ahead of other topics is answered and marked unsure; at the answer threshold it is not")
    func leanAnswer() throws {
        // The fixture is very sure of this message (though not certain): an answer threshold of
        // 1 puts it below, in the lean band from 0.5.
        let message = "银行卡丢了怎么办呢"
        let probability = try #require(Self.kb.understand(message).top).probability
        #expect(probability >= 0.5 && probability < 1)
        let answer = 1
        let lean = try KnowledgeFixture.make(intents: ["thresholds.txt": "[thresholds]\nanswer: \(answer)\nlean_answer: 0.5\n"]).load()
        let leaning = lean.route(lean.understand(message))
        #expect(leaning.route == .answer && leaning.unsure, "\(leaning.rule)")
        #expect(leaning.rule.contains("lean answer"))

        let strict = try KnowledgeFixture.make(intents: ["thresholds.txt": "[thresholds]\nanswer: \(answer)\nlean_answer: \(answer)\n"]).load()
        let menu = strict.route(strict.understand(message))
        #expect(menu.route == .clarify && !menu.unsure, "\(menu.rule)")
    }

    @Test("a question close to another topic is answered with the closer one and the other named, unless lean answers are off")
    func closeTopicsLean() throws {
        let message = "银行卡丢了怎么办呢"
        // A margin of 1 puts every other topic within it.
        let lean = try KnowledgeFixture.make(intents: ["thresholds.txt": "[thresholds]\nmargin: 1\nlean_answer: 0.3\n"]).load()
        let leaning = lean.route(lean.understand(message))
        #expect(leaning.route == .answer && leaning.unsure, "\(leaning.rule)")
        #expect(leaning.rule.contains("margin") && leaning.rule.contains("named"))

        let strict = try KnowledgeFixture.make(intents: ["thresholds.txt": "[thresholds]\nmargin: 1\nlean_answer: 0.5\n"]).load()
        let menu = strict.route(strict.understand(message))
        #expect(menu.route == .clarify && !menu.unsure, "\(menu.rule)")
    }

    @Test("excluded keywords block an entry, boosted ones raise it")
    func keywordsMoveScores() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["order_status/where.md"] = KnowledgeFixture.entry("order_where", topic: "order_status",
            questions: KnowledgeFixture.orderQuestions, extra: "exclude: 退款\n")
        entries["return_refund/refund.md"] = KnowledgeFixture.entry("refund", topic: "return_refund",
            questions: KnowledgeFixture.refundQuestions, extra: "boost: 订单退 2\n")
        let kb = try KnowledgeFixture.make(entries: entries).load()
        let u = kb.understand("订单退款到哪了")
        #expect(u.top?.entryID == "refund")
        #expect(u.candidates.first { $0.entryID == "order_where" }.map { $0.probability < 0.01 } ?? true)
        #expect(u.top?.keywords.contains("订单退 +2.00") == true)
    }
}
