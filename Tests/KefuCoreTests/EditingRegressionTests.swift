import Foundation
import Testing
@testable import KefuCore

/// `kefu test`: the regression file format, the runner's PASS/FAIL lines, the closing line
/// and the exit status, and the shipped regression file on the shipped knowledge base.
@Suite("Regression files")
struct EditingRegressionTests {
    static let root = KefuProcess.packageRoot.path

    @Test("a regression file reads into message cases, conversations and unreadable lines")
    func parsing() {
        let text = """
        # comment
        信用卡丢了 => card_service / card_loss / answer

        我要投诉 => complaint / handoff complaint
        === conversation: 投诉先问事实
        > 我要投诉
        < route clarify
        ! claim 李四
        @ 22:30
        > 昨天柜员态度差
        < ticket complaint
        没有箭头的一行
        => card_service
        === second
        < sayz 你好
        """
        let cases = RegressionFile.parse(text, file: "r.txt")
        #expect(cases.count == 7)
        guard case .message(let m, let expected) = cases[0].body else { Issue.record("not a message"); return }
        #expect(m == "信用卡丢了" && expected == ["card_service", "card_loss", "answer"])
        #expect(cases[0].line == 2)
        guard case .conversation(let title, let steps) = cases[2].body else { Issue.record("not a conversation"); return }
        #expect(title == "投诉先问事实")
        #expect(cases[2].line == 5)
        #expect(steps == [.customer("我要投诉", line: 6), .expect("route", "clarify", line: 7), .agent("claim", name: "李四", text: "", line: 8),
                          .clock(hour: 22, minute: 30, line: 9), .customer("昨天柜员态度差", line: 10), .expect("ticket", "complaint", line: 11)])
        guard case .unreadable(let why) = cases[3].body else { Issue.record("not unreadable"); return }
        #expect(why.contains("message => topic / entry / route"))
        guard case .unreadable = cases[4].body else { Issue.record("an empty message is unreadable"); return }
        guard case .conversation("second", let second) = cases[5].body, second.isEmpty else { Issue.record("the second conversation"); return }
        guard case .unreadable(let expectation) = cases[6].body else { Issue.record("an unknown expectation is unreadable"); return }
        #expect(expectation.contains("unknown expectation"))
    }

    @Test("a passing message prints PASS with its expectation; a failing one what was expected, what came and the rule")
    func runnerLines() throws {
        let kb = try KnowledgeFixture.make().load()
        let runner = RegressionRunner(kb: kb)
        let cases = RegressionFile.parse("""
        我的银行卡丢了 => card_service / card_loss / answer
        我的银行卡丢了 => return_refund
        转人工 => human_agent / handoff requested
        薛定谔方程的量子解 => out_of_scope / fallback
        退款 => nonsense_topic
        """, file: "r.txt")
        let results = runner.run(cases)
        #expect(results[0].description == "PASS r.txt:1  我的银行卡丢了 => card_service / card_loss / answer")
        #expect(results[1].description.hasPrefix("FAIL r.txt:2  我的银行卡丢了: expected return_refund, got card_service / card_loss / answer, confidence "))
        #expect(results[1].description.hasSuffix(")") && results[1].description.contains("(confidence "), "the rule in parentheses")
        #expect(results[2].passed)
        #expect(results[3].passed, "\(results[3].description)")
        #expect(!results[4].passed)
        #expect(results[4].description.contains("'nonsense_topic' is no topic, entry or route"))
    }

    @Test("a conversation passes when every expectation holds and fails naming the line that did not")
    func conversations() throws {
        let kb = try KnowledgeFixture.make().load()
        let runner = RegressionRunner(kb: kb)
        let cases = RegressionFile.parse("""
        === conversation: a person on request
        > 转人工
        < route handoff
        < ticket requested
        ! claim 李四
        ! reply 李四 您好，我是李四
        > 在吗
        < says 我是李四
        === conversation: wrong expectation
        > 怎么退款
        < route answer
        < topic card_service
        """, file: "c.txt")
        let results = runner.run(cases)
        #expect(results[0].passed, "\(results[0].description)")
        #expect(results[0].description == "PASS c.txt:1  conversation: a person on request (2 customer lines)")
        #expect(!results[1].passed)
        #expect(results[1].description.hasPrefix("FAIL c.txt:9  conversation: wrong expectation: line 12 after «怎么退款»: expected topic card_service, got return_refund"))
    }

    @Test("the shipped regression file passes on the shipped knowledge base and covers every topic")
    func shippedFilePasses() throws {
        let kb = try KnowledgeLoader.load(from: Self.root)
        let cases = try RegressionFile.read(Self.root + "/Tests/Data/kb-regression.txt", displayPath: "Tests/Data/kb-regression.txt")
        let results = RegressionRunner(kb: kb).run(cases)
        let failed = results.filter { !$0.passed }.map(\.description)
        #expect(failed.isEmpty, "\(failed.joined(separator: "\n"))")
        var messages = 0, conversations = 0
        var topics = Set<String>()
        for c in cases {
            switch c.body {
            case .message(_, let expected):
                messages += 1
                topics.formUnion(expected.filter { kb.topics[$0] != nil || $0 == KnowledgeBase.outOfScopeTopic })
            case .conversation: conversations += 1
            case .unreadable: break
            }
        }
        #expect(messages >= 80)
        #expect(conversations >= 6)
        #expect(topics.isSuperset(of: KnowledgeLoader.canonicalTopics + [KnowledgeBase.outOfScopeTopic]),
                "missing: \(Set(KnowledgeLoader.canonicalTopics).subtracting(topics))")
    }

    @Test("leave-one-out gives every phrasing a prediction and accuracy per topic")
    func leaveOneOut() throws {
        var problems: [LoadProblem] = []
        let source = try #require(KnowledgeLoader.readSource(try KnowledgeFixture.make().folder, problems: &problems))
        let cv = PhrasingCrossValidation.run(source, folds: 3)
        #expect(cv.folds == 3)
        #expect(cv.predictions.count == 30)
        #expect(cv.byTopic.count == 5)
        #expect(cv.byTopic.allSatisfy { $0.phrasings == 6 && $0.topicCorrect <= $0.phrasings && $0.entryCorrect <= $0.phrasings })
        #expect(cv.topicAccuracy >= 0 && cv.topicAccuracy <= 1)
        let again = PhrasingCrossValidation.run(source, folds: 3)
        #expect(again.predictions.map(\.predictedEntry) == cv.predictions.map(\.predictedEntry), "seeded: the same every run")
    }
}
