import Foundation
import Testing
@testable import KefuCore

/// The shipped knowledge base against Tests/Data/kb-eval.jsonl: 392 customer messages that
/// are not phrasings in the FAQ files, labelled with topic and route. An edit that breaks
/// what customers rely on fails here; `kefu eval --kb . --test Tests/Data/kb-eval.jsonl
/// --misses` lists the messages behind a failure.
@Suite("The shipped knowledge base")
struct ShippedKnowledgeBaseTests {
    static let root = KefuProcess.packageRoot.path
    static let kb: KnowledgeBase = try! KnowledgeLoader.load(from: root)
    static let evaluation = KnowledgeBaseEvaluation(kb: kb, examples: try! LabelledFile.readRouted(root + "/Tests/Data/kb-eval.jsonl"))

    @Test("every canonical topic has at least one entry")
    func everyTopicCovered() {
        let covered = Set(Self.kb.entries.map(\.topic))
        #expect(Set(KnowledgeLoader.canonicalTopics).subtracting(covered).isEmpty)
    }

    @Test("every entry has at least six phrasings and its answers fill every placeholder")
    func entriesComplete() {
        for entry in Self.kb.entries {
            #expect(entry.entry.questions.count >= 6, "\(entry.entry.file) has \(entry.entry.questions.count) phrasings")
            for answer in entry.entry.answers {
                #expect(!Self.kb.company.fill(answer.text).contains("{"), "\(entry.entry.file):\(answer.line)")
            }
        }
    }

    @Test("every message that must go to a person is handed off")
    func mustHandOff() {
        let missed = Self.evaluation.handoffMissed.map { "\($0.example.text) → \($0.route.rawValue): \($0.rule)" }
        #expect(missed.isEmpty, "\(missed.joined(separator: "\n"))")
    }

    @Test("no calm routine question is handed off")
    func calmStaysWithBot() {
        let wrong = Self.evaluation.routineHandedOff.map { "\($0.example.text): \($0.rule)" }
        #expect(wrong.isEmpty, "\(wrong.joined(separator: "\n"))")
    }

    @Test("prevention questions, a profession that names a threat cue and urgency without anger stay with the bot", arguments: [
        "怎么预防被盗刷，出国前要设置什么",
        "我男朋友是记者，他能替我办挂失吗",
        "急死了，存款证明开出来要几天",
    ])
    func calmLookAlikes(_ text: String) {
        #expect(Self.kb.route(Self.kb.understand(text)).route != .handoff)
    }

    @Test("weariness and a stranded customer go to a person", arguments: [
        "说好的回电一直没有，急死了",
        "又是第四次打电话了，洗衣机到现在还是没人来修",
        "Fourth time asking about the same refund and still nothing",
    ])
    func upsetHandsOff(_ text: String) {
        #expect(Self.kb.route(Self.kb.understand(text)).route == .handoff)
    }

    @Test("a message the bot has no answer for goes to a person when the handoff model leans to a reason, and falls back when it reads calm")
    func unansweredLeaningToAPerson() {
        // No entry, no lexicon cue: only the model's lean toward anger sends it to a person.
        let leaning = Self.kb.route(Self.kb.understand("我跟你们没完"))
        #expect(leaning.route == .handoff && leaning.reason == .emotion, "\(leaning.rule)")
        #expect(leaning.rule.hasPrefix("no answer"), "the rule for messages without an answer decided: \(leaning.rule)")
        #expect(leaning.leaning, "marked as a leaning, so a case a person already has is not raised by it")
        for calm in ["今天天气怎么样", "推荐一部好看的电影"] {
            #expect(Self.kb.route(Self.kb.understand(calm)).route == .fallback, "\(calm)")
        }
    }

    @Test("a question split between entries of one topic is answered by the closest; a bare subject still gets choices")
    func sureOfTheTopic() {
        let split = Self.kb.understand("想申请维修，手机屏幕不亮了")
        let top = try! #require(split.top)
        #expect(top.probability < Self.kb.thresholds.answer, "no longer split: pick another message for this test")
        let decision = Self.kb.route(split)
        #expect(decision.route == .answer && top.topic == "repair_request", "\(decision.rule)")
        #expect(decision.rule.contains("over its closest entries"))
        for subject in ["card", "信用卡分期"] {
            let d = Self.kb.route(Self.kb.understand(subject))
            #expect(!d.rule.contains("over its closest entries"), "\(subject): \(d.rule)")
        }
    }

    @Test("a calm message that names a handoff topic is answered from the other candidates", arguments: [
        ("不是投诉哈，我就问下退货要怎么弄", "return_refund"), ("我没打算投诉，只是想问问快递到哪了", "order_status"),
    ])
    func handoffTopicSetAside(_ text: String, _ topic: String) throws {
        let decision = Self.kb.route(Self.kb.understand(text))
        #expect(decision.route == .answer && decision.topic == topic, "\(text): \(decision.rule)")
        let answered = try #require(decision.candidates?.first, "\(text): no candidates kept")
        #expect(answered.topic == topic, "\(text): answers \(answered.entryID)")
    }

    @Test("someone trapped, a knife, one's own death said as a hypothesis go to a person for safety; the same words used loosely do not", arguments: [
        ("我家小孩被关在里面了，门打不开", true), ("my son is trapped in the lift", true), ("有人拿刀在门口威胁我", true),
        ("如果我死了，房贷是不是就不用还了", true), ("my money feels trapped in this deposit", false), ("好困", false),
    ])
    func dangerInWords(_ text: String, _ danger: Bool) {
        let decision = Self.kb.route(Self.kb.understand(text))
        #expect((decision.route == .handoff && decision.reason == .safety) == danger, "\(text): \(decision.rule)")
    }

    @Test("a danger carries the safety topic even when it names a product", arguments: ["燃气热水器那边一股很重的煤气味", "洗衣机插头冒火花了"])
    func dangerTopic(_ text: String) {
        let decision = Self.kb.route(Self.kb.understand(text))
        #expect(decision.route == .handoff && decision.reason == .safety && decision.topic == "safety", "\(text): \(decision.rule)")
    }

    @Test("a question about one topic that none of its entries is sure of gets that topic's choices, not a fallback")
    func topicAboveTheFloor() {
        let u = Self.kb.understand("My oven stopped getting hot, how do I get someone to fix it?")
        let decision = Self.kb.route(u)
        #expect(decision.route != .fallback && u.topic == "repair_request", "\(decision.rule)")
    }

    @Test("a question that names a product, below the floor, is answered with the closest entry and the runner-up named, not a menu")
    func productQuestionLeans() {
        let u = Self.kb.understand("how do I use the self-clean mode on my oven")
        let decision = Self.kb.route(u)
        #expect(u.top.map { $0.probability < Self.kb.thresholds.floor } == true)
        #expect(decision.route == .answer && decision.unsure && decision.rule.contains("a product named"), "\(decision.rule)")
    }

    @Test("a person declined in so many words is no request for one; a request still is", arguments: [
        ("I don't want to talk to a human, just tell me the annual fee", false), ("不需要人工客服，帮我查下快递", false),
        ("不用转人工，信用卡年费怎么收", false), ("我不是想转人工，就问下积分怎么兑换", false), ("转人工", true), ("I want to talk to a human", true), ("给我转人工，不要机器人", true),
    ])
    func declinedPerson(_ text: String, _ handedOff: Bool) {
        let decision = Self.kb.route(Self.kb.understand(text))
        #expect((decision.route == .handoff) == handedOff, "\(text): \(decision.rule)")
    }

    @Test("money taken without the service (charged twice, a transfer that never arrived, an ATM that gave no cash) goes to a person; asking how a failed payment is returned does not", arguments: [
        ("物业费扣了两次钱", true), ("转账显示成功了，可收款人说一直没收到", true), ("取款机没出钞票，卡上却扣了钱", true),
        ("缴费失败了，钱会自动退回来吗", false), ("转账一般多久到账", false),
    ])
    func moneyTakenWithoutTheService(_ text: String, _ handedOff: Bool) {
        let decision = Self.kb.route(Self.kb.understand(text))
        #expect(decision.route == (handedOff ? .handoff : .answer), "\(text): \(decision.rule)")
        if handedOff { #expect(decision.reason == .money, "\(text): \(decision.rule)") }
    }

    @Test("money already lost goes to a person, a stolen card or account under its own subject; the same loss supposed or guarded against is answered", arguments: [
        ("刚才按对方说的把钱转过去了，现在对方电话打不通了", nil, true), ("卡一直在我钱包里，却收到一笔外地消费的短信，不是我刷的", "card_service", true),
        ("一次网购，信用卡上出现了两笔一模一样的扣款", "card_service", true), ("账户里的钱昨晚被转走了，我什么都没操作", "account_query", true),
        ("万一以后卡被盗刷了，第一时间要做什么", nil, false), ("想防止卡被盗刷，有什么设置可以开", nil, false), ("信用卡被盗刷的话有没有保障？只是先问问", nil, false),
    ])
    func moneyLostOrSupposed(_ text: String, _ topic: String?, _ handedOff: Bool) {
        let u = Self.kb.understand(text)
        let decision = Self.kb.route(u)
        #expect((decision.route == .handoff && decision.reason == .money) == handedOff, "\(text): \(decision.rule)")
        if let topic { #expect((decision.topic ?? u.topic) == topic, "\(text): \(u.top?.entryID ?? "-")") }
    }

    @Test("key words typed in pinyin, a court named and a threat to break a leg go to a person", arguments: [
        ("wo yao ren gong ke fu", HandoffReason.requested), ("wo yao tou su ni men", .complaint), ("那我们法庭上见", .threat),
        ("你再不处理我就去人民银行反映", .threat), ("他说要找人打断我的腿", .safety),
    ])
    func lexiconReaches(_ text: String, _ reason: HandoffReason) {
        let decision = Self.kb.route(Self.kb.understand(text))
        #expect(decision.route == .handoff && decision.reason == reason, "\(text): \(decision.rule)")
    }

    @Test("money lost and a life at stake: the reason is safety", arguments: ["被骗光了积蓄，我想从楼上跳下去", "卡里的钱全被转走了，我不想活了"])
    func moneyAndDanger(_ text: String) {
        let decision = Self.kb.route(Self.kb.understand(text))
        #expect(decision.route == .handoff && decision.reason == .safety, "\(text): \(decision.rule)")
    }

    @Test("anger that reads as praise is sarcasm: the ticket takes the subject behind it, or is a complaint when there is none")
    func sarcasmTakesTheSubject() throws {
        let kb = Self.kb
        let u = kb.understand("太棒了，真是气死我了！！！")
        func candidate(_ id: String, _ p: Float) throws -> Candidate {
            let index = try #require(kb.entryIndex[id])
            return Candidate(entryIndex: index, entryID: id, topic: kb.entries[index].topic, probability: p, keywordEffects: [])
        }
        let withSubject = Understanding(normalized: u.normalized, candidates: [try candidate("praise_staff", 0.5), try candidate("repair_status", 0.3)],
                                        emotion: u.emotion, ranking: u.ranking, handoff: u.handoff)
        let decision = Router.decide(withSubject, in: kb)
        #expect(decision.route == .handoff && decision.topic == "repair_progress", "\(decision.rule)")
        let without = Understanding(normalized: u.normalized, candidates: [try candidate("praise_staff", 0.8), try candidate("greeting_hello", 0.1)],
                                    emotion: u.emotion, ranking: u.ranking, handoff: u.handoff)
        #expect(Router.decide(without, in: kb).topic == "complaint")
    }

    @Test("despair a safety entry is nearly certain of goes to a person even when the handoff model reads little danger in it")
    func sureSafetyEntryHandsOff() {
        let u = Self.kb.understand("好绝望 看不到任何出路")
        let decision = Self.kb.route(u)
        #expect(u.top?.topic == "safety")
        #expect(decision.route == .handoff && decision.reason == .safety, "\(decision.rule)")
    }

    @Test("a handoff reply names what it is (a person, a danger); the ticket keeps the subject the agent will handle")
    func handoffTopics() throws {
        let dialogue = Dialogue(kb: Self.kb, desk: try ServiceDesk(folder: Scratch.folder("handoff-topics")))
        let now = Date()
        var state = try dialogue.start(customer: "c1", channel: "test", now: now)
        _ = try dialogue.respond(to: "信用卡怎么分期", in: &state, now: now)
        let person = try dialogue.respond(to: "转人工", in: &state, now: now)
        #expect(person.topic == "human_agent")
        #expect(try #require(person.ticket).topic == "card_service")

        var other = try dialogue.start(customer: "c2", channel: "test", now: now)
        let danger = try dialogue.respond(to: "我家燃气灶有很重的煤气味", in: &other, now: now)
        #expect(danger.topic == "safety" && danger.reason == .safety)
        #expect(try #require(danger.ticket).topic == "repair_request")
    }

    @Test("English answers and standard phrases are filled with the company's English values: no Chinese inside them")
    func englishFilledInEnglish() {
        let han = { (text: String) in text.unicodeScalars.contains { CompanyProfile.isHan($0) } }
        for entry in Self.kb.entries {
            for answer in entry.filledEnglishAnswers { #expect(!han(answer), "\(entry.id): \(answer)") }
        }
        for (key, forms) in Self.kb.phraseForms where key.hasPrefix(StandardPhrases.englishPrefix) {
            for form in forms { #expect(!han(form), "\(key): \(form)") }
        }
    }

    @Test("at least 90% of messages reach the right topic")
    func topicAccuracy() {
        #expect(Self.evaluation.topicMetrics.accuracy >= 0.90)
    }
}
