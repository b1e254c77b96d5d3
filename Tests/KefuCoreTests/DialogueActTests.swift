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
    ])
    func combinations(_ text: String, _ expected: [DialogueAct]) {
        #expect(Self.acts(text) == expected, "\(text)")
    }

    @Test("a message that asks something besides the acts is left to the classifier", arguments: [
        "好的，那怎么退款", "转账", "我不想活了", "ok how do I reset my password", "卡",
    ])
    func questionsAreNotActs(_ text: String) {
        #expect(Self.acts(text) == nil, "\(text)")
    }

    @Test("ratings in words and numbers carry their score", arguments: [
        ("5", 5), ("五星好评", 5), ("非常满意", 5), ("满意", 4), ("一般般", 3), ("差评", 1), ("打4分", 4), ("3分", 3),
    ])
    func ratings(_ text: String, _ score: Int) {
        #expect(Self.kb.acts.read(Self.kb.classifier.normalizer.normalize(text))?.rating == score, "\(text)")
    }
}
