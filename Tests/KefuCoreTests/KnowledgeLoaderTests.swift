import Foundation
import Testing
@testable import KefuCore

@Suite("Loading the knowledge files")
struct KnowledgeLoaderTests {
    @Test("a valid knowledge base loads with every entry")
    func validLoads() throws {
        let kb = try KnowledgeFixture.make().load()
        #expect(kb.entries.count == 5)
        #expect(kb.company["hotline"] == "400-000-0000")
    }

    @Test("a missing front matter key is reported with file and line")
    func missingTopic() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["card_service/card_loss.md"] = "---\nid: card_loss\n---\n## Questions\n- 卡丢了\n\n## Answers\n请挂失。\n"
        let problems = try KnowledgeFixture.make(entries: entries).problems()
        #expect(problems.contains("FAQ/card_service/card_loss.md:1: the front matter has no `topic:`"))
    }

    @Test("an unknown front matter key suggests the key meant")
    func unknownKeySuggests() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["return_refund/refund.md"] = KnowledgeFixture.entry("refund", topic: "return_refund", questions: ["退款"], extra: "boots: 退款 2\n")
        let problems = try KnowledgeFixture.make(entries: entries).problems()
        #expect(problems.contains { $0.hasPrefix("FAQ/return_refund/refund.md:4: unknown front matter key 'boots'; did you mean 'boost'?") })
    }

    @Test("duplicate ids name both places")
    func duplicateIDs() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["return_refund/refund2.md"] = KnowledgeFixture.entry("refund", topic: "return_refund", questions: ["退钱"])
        let problems = try KnowledgeFixture.make(entries: entries).problems()
        #expect(problems.contains("FAQ/return_refund/refund2.md:2: duplicate id 'refund', also used in FAQ/return_refund/refund.md:2"))
    }

    @Test("an answer with an unknown company placeholder is refused at its line")
    func unknownPlaceholder() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["return_refund/refund.md"] = KnowledgeFixture.entry("refund", topic: "return_refund", questions: ["退款"], answer: "请拨打{hotlne}。")
        let problems = try KnowledgeFixture.make(entries: entries).problems()
        #expect(problems.contains("FAQ/return_refund/refund.md:9: unknown placeholder {hotlne}: add it to Intents/company.txt or fix the name"))
    }

    @Test("invalid UTF-8 in a file is reported at its line, not silently replaced")
    func invalidUTF8() throws {
        let fixture = try KnowledgeFixture.make()
        let path = fixture.folder + "/FAQ/greeting/hello.md"
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data.append(contentsOf: [0x2D, 0x20, 0xFF, 0xFE, 0x0A])
        try data.write(to: URL(fileURLWithPath: path))
        #expect(fixture.problems().contains { $0.hasPrefix("FAQ/greeting/hello.md:") && $0.contains("not valid UTF-8") })
    }

    @Test("an unknown topic and a bad threshold are both reported in one run")
    func everyProblemAtOnce() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["return_refund/refund.md"] = KnowledgeFixture.entry("refund", topic: "refunds", questions: ["退款"], extra: "threshold: 2\n")
        let problems = try KnowledgeFixture.make(entries: entries).problems()
        #expect(problems.contains("FAQ/return_refund/refund.md:3: unknown topic 'refunds'; define it in Intents/topics.txt or use one of its topics"))
        #expect(problems.contains("FAQ/return_refund/refund.md:4: threshold '2' must be a number between 0 and 1, such as 0.5"))
    }

    @Test("a broken Intents line is reported with its line")
    func brokenIntentsLine() throws {
        let problems = try KnowledgeFixture.make(intents: ["emotion.txt": "[anger]\n气死: very\n"]).problems()
        #expect(problems.contains("Intents/emotion.txt:2: weight 'very' must be a number from 0 to 1"))
    }

    @Test("others.txt: an unknown section is refused with the sections to use; the listed names are read")
    func otherCompaniesFile() throws {
        let problems = try KnowledgeFixture.make(intents: ["others.txt": "[companies]\n- 淘宝\n"]).problems()
        #expect(problems.contains("Intents/others.txt:1: unknown section [companies]; use [other_companies] or [ours]"))
        let kb = try KnowledgeFixture.make(intents: ["others.txt": "[other_companies]\n- 淘宝\n[ours]\n- 你们\n"]).load()
        #expect(kb.otherCompanyNamed(kb.classifier.normalizer.normalize("淘宝退货怎么弄")) == "淘宝")
        #expect(kb.otherCompanyNamed(kb.classifier.normalizer.normalize("淘宝买的你们的东西怎么退")) == nil)
    }

    @Test("compiling the same files twice gives the same scores")
    func deterministicCompile() throws {
        let fixture = try KnowledgeFixture.make()
        let a = try fixture.load().understand("卡不见了怎么办")
        let b = try fixture.load().understand("卡不见了怎么办")
        #expect(a.candidates == b.candidates)
    }

    @Test("an entry may name the reason of its handoff; a word that is neither a flag nor a reason is refused with the choices")
    func entryHandoffReason() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["order_status/charged.md"] = KnowledgeFixture.entry("charged_twice", topic: "order_status", questions: ["同一笔订单扣了两次钱"], extra: "handoff: money\n")
        let kb = try KnowledgeFixture.make(entries: entries).load()
        let entry = try #require(kb.entryIndex["charged_twice"].map { kb.entries[$0] })
        #expect(entry.alwaysHandOff && entry.handoffReason == .money)

        entries["order_status/charged.md"] = KnowledgeFixture.entry("charged_twice", topic: "order_status", questions: ["同一笔订单扣了两次钱"], extra: "handoff: urgent\n")
        let problems = try KnowledgeFixture.make(entries: entries).problems()
        #expect(problems.contains { $0.hasPrefix("FAQ/order_status/charged.md:") && $0.contains("'handoff' must be true, false or a reason") && $0.contains("money") })
    }

    @Test("a follow-up may carry an English answer after `| en:`, for English customers; an empty one is refused at its line")
    func followUpEnglishAnswer() throws {
        var entries = KnowledgeFixture.standardEntries
        let refund = KnowledgeFixture.entry("refund", topic: "return_refund", questions: KnowledgeFixture.refundQuestions)
        entries["return_refund/refund.md"] = refund + "\n## Follow-ups\n- 多久, how long: 一般 3 个工作日到账。 | en: It usually arrives within 3 working days.\n- 运费: 退货运费以商品页为准。\n"
        let kb = try KnowledgeFixture.make(entries: entries).load()
        let entry = try #require(kb.entryIndex["refund"].map { kb.entries[$0] })
        let english = try #require(entry.followUp(for: kb.classifier.normalizer.normalize("how long will it take?")))
        #expect(english.answer == "一般 3 个工作日到账。" && english.englishAnswer == "It usually arrives within 3 working days.")
        #expect(entry.followUp(for: kb.classifier.normalizer.normalize("运费谁出"))?.englishAnswer == nil)

        entries["return_refund/refund.md"] = refund + "\n## Follow-ups\n- 多久: 一般 3 个工作日到账。 | en:\n"
        let problems = try KnowledgeFixture.make(entries: entries).problems()
        #expect(problems.contains { $0.hasPrefix("FAQ/return_refund/refund.md:") && $0.contains("English answer goes after its Chinese one") })
    }

    @Test("draft entries are ignored until the mark is removed")
    func draftsIgnored() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["order_status/draft.md"] = KnowledgeFixture.entry("order_draft", topic: "order_status", questions: ["发票怎么开"], extra: "draft: true\n")
        let kb = try KnowledgeFixture.make(entries: entries).load()
        #expect(kb.entryIndex["order_draft"] == nil)
    }
}
