import Foundation
import Testing
@testable import KefuCore

/// The short replies customers steer a conversation with, read from the shipped `Intents/acts.txt`.
@Suite("Dialogue acts")
struct DialogueActTests {
    static let kb = ConversationTests.kb

    static func acts(_ text: String) -> [DialogueAct]? { kb.acts.read(kb.classifier.normalizer.normalize(text))?.acts }

    @Test("particles, repeats, punctuation and combinations still read as the acts they are made of", arguments: [
        ("好的呀", [DialogueAct.acknowledge]), ("嗯嗯嗯", [.acknowledge]), ("ok了", [.acknowledge]), ("OK!", [.acknowledge]),
        ("收到谢谢", [.acknowledge, .thanks]), ("好的，知道了", [.acknowledge, .acknowledge]), ("解決了", [.resolved]),
        ("没用，转人工", [.notHelped, .requestPerson]), ("算了，不投诉了", [.cancel, .cancel]), ("got it, thanks", [.acknowledge, .thanks]),
        ("還要等多久", [.askPosition]), ("没有了", [.nothingElse]), ("不是", [.deny]),
        ("沒別的問題了", [.nothingElse]), ("没有其他事情", [.nothingElse]), ("不需要真人了", [.cancel]), ("不用转人工", [.cancel]),
        ("不是，我要人工", [.deny, .requestPerson]), ("就这样，掰掰", [.nothingElse, .goodbye]), ("no need to speak to someone", [.cancel]),
        ("行吧，那再见", [.affirm, .goodbye]), ("done, that's all", [.nothingElse, .nothingElse]), ("ok, have a nice day", [.acknowledge, .goodbye]),
        ("好的，我等着", [.acknowledge, .acknowledge]), ("ok, I'll wait", [.acknowledge, .acknowledge]), ("冇其他問題喇", [.nothingElse]),
        ("no thanks, that's everything, have a great evening", [.deny, .nothingElse, .goodbye]),
    ])
    func combinations(_ text: String, _ expected: [DialogueAct]) {
        #expect(Self.acts(text) == expected, "\(text)")
    }

    @Test("a negation inside a \"V not V\" question (使唔使, 要不要) withdraws nothing", arguments: [
        ("张卡使唔使即刻挂失", nil), ("要不要先冻结卡", nil), ("算了，不用了", "算了"),
    ] as [(String, String?)])
    func eitherWayQuestions(_ text: String, _ cancel: String?) {
        #expect(Self.kb.acts.mentions(.cancel, in: Self.kb.classifier.normalizer.normalize(text)) == cancel, "\(text)")
    }

    @Test("a message that asks something besides the acts is left to the classifier", arguments: [
        "好的，那怎么退款", "转账", "我不想活了", "ok how do I reset my password", "卡",
    ])
    func questionsAreNotActs(_ text: String) {
        #expect(Self.acts(text) == nil, "\(text)")
    }

    @Test("a phrasing with choices spells every combination; an empty choice is optional; a stray bracket is literal")
    func patterns() {
        #expect(ActPattern.expand("没(有|)(别的|其他)") == ["没有别的", "没有其他", "没别的", "没其他"])
        #expect(ActPattern.expand("不用了") == ["不用了"])
        #expect(ActPattern.expand("好(的") == ["好(的"])
    }

    @Test("an act phrasing that spells too many combinations is an error at its line")
    func tooManySpellings() throws {
        let choices = "(" + (1...20).map(String.init).joined(separator: "|") + ")"
        let fixture = try KnowledgeFixture.make(intents: ["acts.txt": KnowledgeFixture.acts.replacingOccurrences(of: "[affirm]\n", with: "[affirm]\n- 好\(choices)\(choices)\n")])
        #expect(fixture.problems().contains { $0.contains("spells 400 phrasings") }, "\(fixture.problems())")
    }

    @Test("a person asked for in words inside a longer message is found; declined or asked about, it is not", arguments: [
        ("Can I talk to someone about my mortgage?", true), ("could I speak with a real person about a refund", true),
        ("房贷的事我想找人工问问", true), ("麻烦帮我转接客服，这个我弄不明白", true), ("能不能安排人工处理一下", true),
        ("no need to speak to someone", false), ("I don't want to talk to a human", false), ("人工服务几点下班", false),
        ("what are your opening hours", false), ("不用转人工，我问下积分", false), ("网站上找客服的入口在哪", false),
    ])
    func requestInWords(_ text: String, _ found: Bool) {
        #expect((Self.kb.acts.requestInWords(Self.kb.classifier.normalizer.normalize(text)) != nil) == found, "\(text)")
    }

    @Test("ratings in words and numbers carry their score", arguments: [
        ("5", 5), ("五星好评", 5), ("非常满意", 5), ("满意", 4), ("一般般", 3), ("差评", 1), ("打4分", 4), ("3分", 3),
        ("5 stars", 5), ("three out of five", 3), ("1 star", 1),
    ])
    func ratings(_ text: String, _ score: Int) {
        #expect(Self.kb.acts.read(Self.kb.classifier.normalizer.normalize(text))?.rating == score, "\(text)")
    }
}
