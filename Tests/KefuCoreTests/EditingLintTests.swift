import Foundation
import Testing
@testable import KefuCore

/// `kefu lint`: each rule fires on a small knowledge base built to break it, and stays
/// quiet on the clean fixture and on the shipped knowledge base.
@Suite("Linting the knowledge files")
struct EditingLintTests {
    /// Lints a fixture; the slow cross-validation only when a test needs it.
    static func lint(entries: [String: String] = KnowledgeFixture.standardEntries, intents: [String: String] = [:],
                     crossValidate: Bool = false) throws -> LintReport {
        var settings = LintSettings()
        settings.crossValidate = crossValidate
        return KnowledgeLinter.lint(folder: try KnowledgeFixture.make(entries: entries, intents: intents).folder, settings: settings)
    }

    static func findings(_ report: LintReport, _ rule: LintRule) -> [LintFinding] { report.findings.filter { $0.rule == rule } }

    @Test("the fixture has no errors, and no warnings but its own known ones")
    func cleanFixture() throws {
        let report = try Self.lint()
        #expect(report.errors.isEmpty, "\(report.errors.map(\.description))")
        // The fixture keeps order_where in where.md and defines only five of the canonical topics.
        let unexpected = report.warnings.filter { !($0.rule == .idFileName && $0.file == "FAQ/order_status/where.md")
            && !($0.rule == .load && $0.message.hasPrefix("canonical topic")) }
        #expect(unexpected.isEmpty, "\(unexpected.map(\.description))")
        #expect(report.entryCount == 5)
    }

    @Test("a finding prints as file:line: severity: message [rule]")
    func findingFormat() {
        let f = LintFinding(file: "FAQ/a/b.md", line: 7, severity: .warning, rule: .fewPhrasings, "only 3 phrasings")
        #expect(f.description == "FAQ/a/b.md:7: warning: only 3 phrasings [few_phrasings]")
        #expect(f.dictionary["rule"] as? String == "few_phrasings")
        #expect(f.dictionary["severity"] as? String == "warning")
    }

    @Test("load: a missing front matter field is an error at its line")
    func loadErrors() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["card_service/card_loss.md"] = "---\nid: card_loss\n---\n## Questions\n- 卡丢了\n\n## Answers\n请挂失。\n"
        let report = try Self.lint(entries: entries)
        let load = Self.findings(report, .load)
        #expect(load.contains { $0.file == "FAQ/card_service/card_loss.md" && $0.line == 1 && $0.severity == .error && $0.message.contains("no `topic:`") })
        #expect(!report.errors.isEmpty)
    }

    @Test("duplicate_id: two entries with one id are an error naming both places")
    func duplicateID() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["return_refund/refund2.md"] = KnowledgeFixture.entry("refund", topic: "return_refund", questions: ["退钱了吗", "钱退了没", "退回来没有", "退了吗", "return money", "退钱进度"])
        let found = Self.findings(try Self.lint(entries: entries), .duplicateID)
        #expect(found.count == 1)
        #expect(found.first?.severity == .error)
        #expect(found.first?.message.contains("FAQ/return_refund/refund.md:2") == true)
    }

    @Test("id_file_name: an id that differs from its file name is a warning")
    func idFileName() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["card_service/card_loss.md"] = nil
        entries["card_service/lost.md"] = KnowledgeFixture.entry("card_loss", topic: "card_service", questions: KnowledgeFixture.cardLossQuestions)
        let found = Self.findings(try Self.lint(entries: entries), .idFileName)
        #expect(found.map(\.file).contains("FAQ/card_service/lost.md"))
        #expect(found.allSatisfy { $0.severity == .warning })
        #expect(!found.contains { $0.file == "FAQ/return_refund/refund.md" }, "refund.md holds id refund")
    }

    @Test("duplicate_phrasing: one phrasing in two entries (after normalisation) is an error, twice in one entry a warning")
    func duplicatePhrasing() throws {
        var entries = KnowledgeFixture.standardEntries
        // 「怎麼退錢！」 normalises like 「怎么退款」: traditional folded, punctuation dropped, 退钱 → 退款 by synonym.
        entries["order_status/where.md"] = KnowledgeFixture.entry("order_where", topic: "order_status", questions: ["我的订单到哪了", "快递到哪了", "物流查询", "订单什么时候到", "where is my order", "怎麼退錢！"])
        entries["greeting/hello.md"] = KnowledgeFixture.entry("hello", topic: "greeting", questions: ["你好", "在吗", "有人吗", "hello", "哈喽", "Hello!"])
        let found = Self.findings(try Self.lint(entries: entries), .duplicatePhrasing)
        let cross = found.filter { $0.severity == .error }
        #expect(cross.count == 1)
        #expect(cross.first?.file == "FAQ/return_refund/refund.md", "reported where it repeats, files in path order")
        #expect(cross.first?.message.contains("'order_where' (FAQ/order_status/where.md:11)") == true)
        let own = found.filter { $0.severity == .warning }
        #expect(own.map(\.file) == ["FAQ/greeting/hello.md"])
        #expect(own.first?.line == 11)
    }

    @Test("few_phrasings: fewer than six phrasings is a warning at the entry")
    func fewPhrasings() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["card_service/card_loss.md"] = KnowledgeFixture.entry("card_loss", topic: "card_service", questions: ["卡丢了", "挂失", "lost card"])
        let found = Self.findings(try Self.lint(entries: entries), .fewPhrasings)
        #expect(found.count == 1)
        #expect(found.first?.line == 2)
        #expect(found.first?.message.contains("only 3 phrasings") == true)
    }

    @Test("unknown_placeholder: an answer naming a company value that does not exist is an error at the answer's line")
    func unknownPlaceholder() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["card_service/card_loss.md"] = KnowledgeFixture.entry("card_loss", topic: "card_service", questions: KnowledgeFixture.cardLossQuestions, answer: "请拨打 {hotlin} 挂失。")
        let found = Self.findings(try Self.lint(entries: entries), .unknownPlaceholder)
        #expect(found.count == 1)
        #expect(found.first?.severity == .error)
        #expect(found.first?.line == 14)
        #expect(found.first?.message.contains("{hotlin}") == true)
    }

    @Test("empty_topic: a topic in topics.txt without an entry is a warning at its section")
    func emptyTopic() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["order_status/where.md"] = nil
        let found = Self.findings(try Self.lint(entries: entries), .emptyTopic)
        #expect(found.count == 1)
        #expect(found.first?.file == "Intents/topics.txt")
        #expect(found.first?.line == 14)
        #expect(found.first?.message.contains("[order_status]") == true)
    }

    @Test("mixed_script: traditional and simplified characters in one answer are a warning; one script is fine")
    func mixedScript() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["card_service/card_loss.md"] = KnowledgeFixture.entry("card_loss", topic: "card_service", questions: KnowledgeFixture.cardLossQuestions, answer: "請立即在{app_name}掛失，我们会尽快处理。")
        entries["return_refund/refund.md"] = KnowledgeFixture.entry("refund", topic: "return_refund", questions: KnowledgeFixture.refundQuestions, answer: "請在訂單頁面申請退款，只需填寫原因。")
        let found = Self.findings(try Self.lint(entries: entries), .mixedScript)
        #expect(found.map(\.file) == ["FAQ/card_service/card_loss.md"])
        #expect(found.first?.message.contains("請") == true)
        #expect(found.first?.message.contains("们") == true)
        #expect(ScriptMix.scan("只有才出").traditional.isEmpty && ScriptMix.scan("只有才出").simplified.isEmpty, "shared characters are neither")
    }

    @Test("long_answer: an answer over 200 characters with placeholders filled is a warning")
    func longAnswer() throws {
        var entries = KnowledgeFixture.standardEntries
        let long = String(repeating: "请在{app_name}中操作。", count: 20)
        entries["card_service/card_loss.md"] = KnowledgeFixture.entry("card_loss", topic: "card_service", questions: KnowledgeFixture.cardLossQuestions, answer: long)
        let found = Self.findings(try Self.lint(entries: entries), .longAnswer)
        #expect(found.count == 1)
        #expect(found.first?.message.contains("220 characters") == true)
    }

    @Test("keyword_conflict: a word boosted in two topics, boosted here and excluded there, or blocking the entry's own phrasing")
    func keywordConflicts() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["return_refund/refund.md"] = KnowledgeFixture.entry("refund", topic: "return_refund", questions: KnowledgeFixture.refundQuestions, extra: "boost: 退款 2, 订单 1\n")
        entries["order_status/where.md"] = KnowledgeFixture.entry("order_where", topic: "order_status", questions: KnowledgeFixture.orderQuestions, extra: "boost: 订单 1.5\nexclude: 退款, 物流\n")
        let found = Self.findings(try Self.lint(entries: entries), .keywordConflict)
        #expect(found.contains { $0.message.contains("'订单' is boosted in entries of different topics") })
        #expect(found.contains { $0.file == "FAQ/order_status/where.md" && $0.message.contains("'退款' is excluded here") })
        #expect(found.contains { $0.file == "FAQ/order_status/where.md" && $0.line == 10 && $0.message.contains("contains '物流', which 'order_where' excludes") })
        #expect(found.allSatisfy { $0.severity == .warning })
    }

    // MARK: - Cross-validation rules

    static func prediction(_ entry: String, _ topic: String, line: Int, to predicted: String, route: Route = .answer) -> PhrasingCrossValidation.Prediction {
        .init(entryID: entry, topic: topic, file: "FAQ/\(topic)/\(entry).md", line: line, text: "q\(line)", predictedEntry: predicted,
              predictedTopic: route == .fallback ? "out_of_scope" : topic, route: route, confidence: 0.6, rule: "")
    }

    static func entry(_ id: String, _ topic: String) -> FAQEntry {
        FAQEntry(id: id, topic: topic, file: "FAQ/\(topic)/\(id).md", line: 2)
    }

    @Test("leave-one-out: a phrasing that falls back misses its entry too, so no topic shows more entry hits than topic hits")
    func fallbackMissesEntryAndTopic() {
        let predictions = (1...4).map { Self.prediction("a", "x", line: $0, to: "a", route: $0 <= 2 ? .fallback : .answer) }
        let cv = PhrasingCrossValidation(folds: 5, predictions: predictions, seconds: 0)
        let topic = cv.byTopic.first { $0.topic == "x" }
        #expect(topic?.entryCorrect == 2)
        #expect(topic?.topicCorrect == 2)
        #expect(cv.entryAccuracy <= cv.topicAccuracy)
    }

    @Test("shadowed: most of an entry's phrasings taken by another entry names the winner; fallbacks do not count")
    func shadowedFromPredictions() {
        // a: 4 of 6 phrasings taken (3 by b, 1 by c); d: 4 of 6 fall back, which is not shadowing.
        var predictions = (8..<14).map { line in Self.prediction("a", "x", line: line, to: line < 11 ? "b" : line == 11 ? "c" : "a") }
        predictions += (8..<14).map { Self.prediction("b", "x", line: $0, to: "b") }
        predictions += (8..<14).map { Self.prediction("d", "y", line: $0, to: $0 < 12 ? "b" : "d", route: $0 < 12 ? .fallback : .answer) }
        let cv = PhrasingCrossValidation(folds: 5, predictions: predictions, seconds: 0)
        let found = KnowledgeLinter.confusion(cv, entries: [Self.entry("a", "x"), Self.entry("b", "x"), Self.entry("c", "x"), Self.entry("d", "y")], settings: LintSettings())
        let shadowed = found.filter { $0.rule == .shadowed }
        #expect(shadowed.count == 1)
        #expect(shadowed.first?.file == "FAQ/x/a.md")
        #expect(shadowed.first?.message.contains("'a' is shadowed by 'b'") == true)
        #expect(shadowed.first?.message.contains("4 of its 6 phrasings") == true)
        #expect(shadowed.first?.message.contains("lines 8, 9, 10") == true)
        #expect(!found.contains { $0.rule == .confusable && $0.message.contains("'a' and 'b'") }, "a shadowed entry is not reported twice")
    }

    @Test("confusable: 30% or more of one entry's phrasings going to another is a warning with the rate")
    func confusableFromPredictions() {
        // e → f: 3 of 10 (30%); f → e: 1 of 6; g → f: 1 of 6 (below the minimum of 2).
        var predictions = (1...10).map { Self.prediction("e", "x", line: $0, to: $0 <= 3 ? "f" : "e") }
        predictions += (1...6).map { Self.prediction("f", "x", line: $0, to: $0 == 1 ? "e" : "f") }
        predictions += (1...6).map { Self.prediction("g", "y", line: $0, to: $0 == 1 ? "f" : "g") }
        let cv = PhrasingCrossValidation(folds: 5, predictions: predictions, seconds: 0)
        let found = KnowledgeLinter.confusion(cv, entries: [Self.entry("e", "x"), Self.entry("f", "x"), Self.entry("g", "y")], settings: LintSettings())
        #expect(found.count == 1)
        #expect(found.first?.rule == .confusable)
        #expect(found.first?.severity == .warning)
        #expect(found.first?.message.contains("3 of 10 phrasings of 'e' (30%) go to 'f'") == true)
        #expect(found.first?.message.contains("1 of 6 of 'f' (17%) the other way") == true)
    }

    @Test("shadowed and confusable come out of a real cross-validation: an entry drowned by another's boosted keyword")
    func crossValidationOnFixture() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["return_refund/refund.md"] = KnowledgeFixture.entry("refund", topic: "return_refund", questions: KnowledgeFixture.refundQuestions, extra: "boost: 退款 3\n")
        entries["order_status/refund_talk.md"] = KnowledgeFixture.entry("refund_talk", topic: "order_status", questions: ["退款咨询一下", "关于退款", "退款的问题", "问下退款", "退款相关", "退款事宜"])
        let report = try Self.lint(entries: entries, crossValidate: true)
        let cv = try #require(report.crossValidation)
        #expect(cv.predictions.count == 36)
        #expect(cv.byTopic.map(\.topic) == ["card_service", "greeting", "human_agent", "order_status", "return_refund"])
        let shadowed = Self.findings(report, .shadowed)
        #expect(shadowed.contains { $0.file == "FAQ/order_status/refund_talk.md" && $0.message.contains("shadowed by 'refund'") },
                "\(report.findings.map(\.description))")
    }

    @Test("the shipped knowledge base lints without errors")
    func shippedHasNoErrors() {
        let root = KefuProcess.packageRoot.path
        var settings = LintSettings()
        settings.crossValidate = false
        let report = KnowledgeLinter.lint(folder: root, settings: settings)
        #expect(report.errors.isEmpty, "\(report.errors.map(\.description).joined(separator: "\n"))")
        #expect(report.entryCount >= 80)
    }
}
