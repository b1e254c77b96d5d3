import Foundation
@testable import KefuCore

/// Writes a small knowledge base to a temporary folder, for loader and routing tests.
struct KnowledgeFixture {
    let folder: String

    /// People on duty around the clock, so tests that use the real clock do not depend on when they run.
    static let company = "[company]\nhotline: 400-000-0000\napp_name: 示例App\nhuman_hours: 全天\nhuman_open: 00:00\nhuman_close: 24:00\n"
    static let topics = """
    [greeting]
    name: 问候
    route: answer
    [human_agent]
    name: 转人工
    route: handoff
    reason: requested
    [return_refund]
    name: 退货退款
    route: answer
    [card_service]
    name: 卡片服务
    route: answer
    [order_status]
    name: 订单查询
    route: answer

    """
    static let realisticPhrases = [
        "handoff": "已为您转接人工客服，服务单号 {ticket}，排在第 {position} 位，预计等待 {wait}。",
        "handoff_after_hours": "已登记服务单 {ticket}，人工客服 {human_open} 上线后处理。",
        "with_person": "您的问题已转给人工客服（服务单 {ticket}）。",
        "person_resolved": "人工客服已处理完服务单 {ticket}。",
        "rating": "请为本次服务评分 1-5 分。",
        "rating_thanks": "您的评分已记录。",
        "too_long": "抱歉，消息太长了。",
        "unreadable": "抱歉，这条消息无法识别。",
    ]
    static let phrases = "[phrases]\n" + StandardPhrases.required.map { "\($0): \(realisticPhrases[$0] ?? "您好（\($0)）")" }.joined(separator: "\n") + "\n"
    static let emotion = "[anger]\n气死: 0.8\n[threat]\n12315: 1\n[safety]\n冒烟: 1\n[money]\n盗刷: 1\n[calm]\n不着急: 0.8\n[negation]\n不: 1\n"
    static let synonyms = "[synonyms]\n退款: 退钱, 返钱\n人工: 真人, 客服人员\n"

    /// What every standard entry's answer says, whatever greeting comes before it.
    static let answerText = "这是示例App的答复"

    static func entry(_ id: String, topic: String, questions: [String], answer: String = "您好，这是{app_name}的答复。", extra: String = "") -> String {
        "---\nid: \(id)\ntopic: \(topic)\n\(extra)---\n## Questions\n" + questions.map { "- \($0)" }.joined(separator: "\n") + "\n\n## Answers\n\(answer)\n"
    }

    /// The standard entries' phrasings, for tests that rewrite one of those entries.
    static let refundQuestions = ["怎么退款", "我要退款", "退款怎么申请", "申请退款", "refund please", "退款流程"]
    static let cardLossQuestions = ["卡丢了", "银行卡丢了怎么办", "信用卡挂失", "卡片遗失", "lost my card", "怎么挂失"]
    static let orderQuestions = ["我的订单到哪了", "快递到哪了", "物流查询", "订单什么时候到", "where is my order", "查一下物流"]

    static let standardEntries: [String: String] = [
        "greeting/hello.md": entry("hello", topic: "greeting", questions: ["你好", "在吗", "有人吗", "hello", "哈喽", "您好请问"]),
        "human_agent/person.md": entry("person", topic: "human_agent", questions: ["转人工", "我要找人工", "人工服务", "找个真人", "real person", "人工客服在吗"], extra: "handoff: true\n"),
        "return_refund/refund.md": entry("refund", topic: "return_refund", questions: refundQuestions),
        "card_service/card_loss.md": entry("card_loss", topic: "card_service", questions: cardLossQuestions),
        "order_status/where.md": entry("order_where", topic: "order_status", questions: orderQuestions),
    ]

    /// The shipped dialogue acts: the conversation rules are tested with the phrasings editors keep.
    static let acts = (try? String(contentsOf: KefuProcess.packageRoot.appendingPathComponent("Intents/acts.txt"), encoding: .utf8)) ?? ""

    /// A fixture with the standard files, `overrides` replacing or adding files by relative path.
    static func make(entries: [String: String] = standardEntries, intents: [String: String] = [:]) throws -> KnowledgeFixture {
        let folder = Scratch.folder("fixture")
        let fm = FileManager.default
        var files: [String: String] = [
            "Intents/company.txt": company, "Intents/topics.txt": topics, "Intents/phrases.txt": phrases,
            "Intents/emotion.txt": emotion, "Intents/synonyms.txt": synonyms, "Intents/acts.txt": acts,
        ]
        for (path, text) in intents { files["Intents/" + path] = text }
        for (path, text) in entries { files["FAQ/" + path] = text }
        for (path, text) in files {
            let full = folder + "/" + path
            try fm.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return KnowledgeFixture(folder: folder)
    }

    func load() throws -> KnowledgeBase { try KnowledgeLoader.load(from: folder) }

    /// The problems loading reports, as `file:line: message` strings.
    func problems() -> [String] {
        do {
            _ = try load()
            return []
        } catch let error as KnowledgeLoadError {
            return error.problems.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }
}
