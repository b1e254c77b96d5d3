import Foundation
import Testing
@testable import KefuCore

@Suite("Service figures")
struct ServiceMetricsTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func event(_ kind: ServiceEvent.Kind, _ conversation: String?, at seconds: Double, _ edit: (inout ServiceEvent) -> Void = { _ in }) -> ServiceEvent {
        var e = ServiceEvent(kind: kind, time: t0.addingTimeInterval(seconds))
        e.conversation = conversation
        edit(&e)
        return e
    }

    @Test("containment, handoff, fallback, time to claim and satisfaction come out as constructed")
    func figuresFromConstructedLog() {
        let events = [
            Self.event(.message, "c1", at: 0) { $0.route = "answer"; $0.topic = "points" },
            Self.event(.message, "c1", at: 1) { $0.route = "fallback" },
            Self.event(.rating, "c1", at: 2) { $0.score = 5 },
            Self.event(.message, "c2", at: 0) { $0.route = "clarify"; $0.topic = "card_service" },
            Self.event(.message, "c2", at: 5) { $0.route = "handoff"; $0.topic = "complaint" },
            Self.event(.handoff, "c2", at: 5) { $0.reason = "complaint"; $0.ticket = "T1" },
            Self.event(.agentAction, nil, at: 65) { $0.action = "claim"; $0.ticket = "T1" },
            Self.event(.agentAction, nil, at: 70) { $0.action = "claim"; $0.ticket = "T1" },  // a second claim does not count
            Self.event(.rating, "c2", at: 99) { $0.score = 2 },
            Self.event(.message, "c3", at: 0) { $0.route = "answer"; $0.topic = "points" },
            Self.event(.message, "c4", at: 0) { $0.route = "handoff" },
            Self.event(.handoff, "c4", at: 0) { $0.reason = "safety"; $0.ticket = "T2" },
            Self.event(.agentAction, nil, at: 180) { $0.action = "next"; $0.ticket = "T2" },
        ]
        let m = ServiceMetrics(events: events)
        #expect(m.conversations == 4)
        #expect(m.messages == 6)
        #expect(m.handoffRate == 0.5)
        #expect(m.containmentRate == 0.5)
        #expect(m.handoffReasons == ["complaint": 1, "safety": 1])
        #expect(abs(m.fallbackRate - 1.0 / 6) < 1e-9)
        #expect(abs(m.clarificationRate - 1.0 / 6) < 1e-9)
        #expect(m.medianSecondsToClaim == 60)
        #expect(m.p90SecondsToClaim == 180)
        #expect(m.satisfactionAverage == 3.5)
        #expect(m.ratings == [5: 1, 2: 1])
        #expect(m.topTopics.first?.topic == "points")
    }
}

@Suite("What the dialogue logs")
struct DialogueLoggingTests {
    @Test("「没用」 after an answer is logged against that answer's topic, so reports can count it")
    func notHelpedIsLogged() throws {
        let kb = try KnowledgeFixture.make().load()
        let folder = Scratch.folder("log")
        let desk = try ServiceDesk(folder: folder)
        let dialogue = Dialogue(kb: kb, desk: desk)
        let now = Date()
        var state = try dialogue.start(customer: "c1", channel: "test", now: now)
        _ = try dialogue.respond(to: "银行卡丢了怎么办", in: &state, now: now)
        _ = try dialogue.respond(to: "没用", in: &state, now: now)
        let events = try EventLog.read(folder: folder).events.filter { $0.kind == .message }
        #expect(events.count == 2)
        #expect(events.last?.text == "没用")
        #expect(events.last?.topic == "card_service")
        #expect(events.last?.reason == "not_helped")
    }
}
