import Foundation
import Testing
@testable import KefuCore

/// `kefu import`: sections and numbered points of a small policy document become drafts
/// with a question, phrasings, a summarised answer and a topic, which the loader ignores.
@Suite("Importing a policy document")
struct EditingImportTests {
    static let document = """
    # 退款规则

    本规则说明本公司商品退款的办理方式和时效。客户在收到商品后七天内可以申请无理由退款，退款将原路退回。

    ## 一、退款时效

    退款审核通过后，款项将在1至3个工作日内原路退回。信用卡支付的订单，退款到账时间以发卡行为准，一般不超过7个工作日。如超过时效仍未到账，请联系客服核实。

    ## 二、退款条件

    1. 商品完好：商品及配件齐全、包装完好、不影响二次销售的，可以申请退款，审核通过后办理。
    2. 特殊商品：定制商品、已拆封的食品和贴身衣物，除质量问题外不支持无理由退款，敬请谅解。

    版权说明：本文档由用户提供并上传，若内容存在侵权，请进行举报。
    下载本文档
    """

    static func drafts(_ text: String = document) throws -> [DraftEntry] {
        DocumentImporter.drafts(text: text, name: "policies/refund-policy.md", kb: try KnowledgeFixture.make().load())
    }

    @Test("headings and numbered points become drafts; site noise does not")
    func sectionsAndPoints() throws {
        let drafts = try Self.drafts()
        #expect(drafts.map(\.heading) == ["退款规则", "退款时效", "退款条件", "商品完好", "特殊商品"])
        #expect(drafts.map(\.id) == (1...5).map { "draft_refund_policy_0\($0)" })
        #expect(drafts.allSatisfy { !$0.answer.contains("版权") && !$0.answer.contains("下载") })
        #expect(drafts.first { $0.heading == "商品完好" }?.line == 11)
    }

    @Test("the answer is a summary: at most 160 characters, from the section's own sentences, never the whole section")
    func summaries() throws {
        let drafts = try Self.drafts()
        let timing = try #require(drafts.first { $0.heading == "退款时效" })
        #expect(timing.answer.contains("原路退回") || timing.answer.contains("工作日"))
        #expect(timing.answer.count < timing.sourceLength)
        for d in drafts {
            #expect(d.answer.count <= DocumentImporter.maximumAnswerLength)
            #expect(d.answer.count < d.sourceLength, "\(d.heading): \(d.answer)")
            #expect(d.answer.hasSuffix("。"))
        }
        let long = String(repeating: "客户在办理退款业务时需要提供订单号和支付凭证，并说明退款原因", count: 4) + "。" + "短句。"
        let cut = DocumentImporter.summary(long, heading: "退款", stats: .init(DocumentImporter.sentences(long)))
        #expect(cut.count <= DocumentImporter.maximumAnswerLength)
    }

    @Test("a question and six phrasings templated from the heading, and the shipped classifier's topic")
    func questionsAndTopic() throws {
        let root = KefuProcess.packageRoot.path
        let shipped = try KnowledgeLoader.load(from: root)
        let drafts = DocumentImporter.drafts(text: Self.document, name: "refund-policy.md", kb: shipped)
        let timing = try #require(drafts.first { $0.heading == "退款时效" })
        #expect(timing.question == "退款时效具体是怎样的？")
        #expect(timing.phrasings == ["退款时效是什么", "退款时效怎么办理", "请问退款时效", "退款时效有什么规定", "我想了解一下退款时效", "退款时效需要注意什么"])
        #expect(timing.topic == "return_refund")
        #expect(timing.topicConfidence > 0)
    }

    @Test("a traditional document gives simplified drafts with full-width punctuation")
    func traditional() throws {
        let text = "一、退款時效\n退款審核通過後,款項將在三個工作日內原路退回。信用卡訂單以發卡行為準,一般不超過七個工作日。\n"
        let d = try #require(try Self.drafts(text).first)
        #expect(d.heading == "退款时效")
        #expect(d.answer.contains("审核") || d.answer.contains("信用卡订单"))
        #expect(!d.answer.contains(","))
        #expect(ScriptMix.scan(d.answer).traditional.isEmpty)
    }

    @Test("written drafts carry draft: true, load without errors and are ignored by the knowledge base")
    func draftsLoadAndAreIgnored() throws {
        let fixture = try KnowledgeFixture.make()
        let folder = fixture.folder + "/FAQ/drafts"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let drafts = try Self.drafts()
        for d in drafts {
            try DocumentImporter.render(d, source: "refund-policy.md").write(toFile: folder + "/\(d.id).md", atomically: true, encoding: .utf8)
        }
        let kb = try fixture.load()
        #expect(kb.entries.count == 5, "drafts are not served")
        var problems: [LoadProblem] = []
        let source = try #require(KnowledgeLoader.readSource(fixture.folder, problems: &problems))
        #expect(problems.filter { $0.severity == .error }.isEmpty, "\(problems)")
        let read = source.entries.filter(\.isDraft)
        #expect(read.count == drafts.count)
        #expect(read.allSatisfy { $0.questions.count == 7 && $0.answers.count == 1 })
        var settings = LintSettings()
        settings.crossValidate = false
        #expect(KnowledgeLinter.lint(folder: fixture.folder, settings: settings).errors.isEmpty)
    }

    @Test("a document of nothing but noise gives no drafts")
    func noiseOnly() throws {
        let text = "版权说明：本文档由用户提供并上传\n下载本文档\n《客户服务》课件_第1页\n温馨提示\n- 1. 本站所有资源如无特殊说明\n"
        #expect(try Self.drafts(text).isEmpty)
    }
}
