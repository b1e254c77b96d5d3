import Foundation
import Testing
@testable import KefuCore

@Suite("Service figures")
struct ServiceMetricsTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("an events.log written by the previous version, with strings for route, reason and action, or by a newer one with codes this version does not know, reads and writes back byte for byte")
    func previousVersionLogRoundTrips() throws {
        // As the version with `String?` fields wrote them: sorted keys, plain string codes,
        // and codes this version does not know (a newer version's) kept as they are.
        let lines = [
            #"{"channel":"tcp","confidence":0.9,"conversation":"c1","customer":"u1","emotionLevel":"upset","emotionScore":0.5,"entry":"refund_how","kind":"message","route":"answer","text":"退款怎么申请","time":"2027-01-15T08:00:00.000Z","topic":"return_refund"}"#,
            #"{"conversation":"c1","kind":"handoff","reason":"not_helped","ticket":"T000001","time":"2027-01-15T08:00:01.250Z","topic":"return_refund"}"#,
            #"{"action":"claim","agent":"张三","conversation":"c1","customer":"u1","kind":"agent_action","reason":"complaint","ticket":"T000001","time":"2027-01-15T08:00:02.000Z"}"#,
            #"{"action":"withdrawn","conversation":"c1","kind":"agent_action","ticket":"T000001","time":"2027-01-15T08:00:03.000Z"}"#,
            #"{"conversation":"c1","handedOff":false,"kind":"conversation_end","reason":"idle","time":"2027-01-15T08:00:04.000Z"}"#,
            #"{"conversation":"c2","kind":"message","reason":"withdrawn","route":"answer","time":"2027-01-15T08:00:05.000Z","topic":"complaint"}"#,
            #"{"conversation":"c3","kind":"handoff","reason":"future_reason","ticket":"T000002","time":"2027-01-15T08:00:06.000Z"}"#,
            #"{"action":"future_action","agent":"李四","kind":"agent_action","ticket":"T000002","time":"2027-01-15T08:00:07.000Z"}"#,
            #"{"conversation":"c4","emotionLevel":"future_level","kind":"message","route":"future_route","time":"2027-01-15T08:00:08.000Z"}"#,
        ]
        let events = lines.compactMap { ServiceEvent.decodeStored(Data($0.utf8)) }
        #expect(events.count == lines.count)
        #expect(events.map { $0.jsonLine() } == lines)
        #expect(events[0].route?.value == .answer && events[0].emotionLevel?.value == .upset)
        // A newer version's route or emotion level still reads: the message counts, its code is kept.
        #expect(events[8].route == .unknown("future_route") && events[8].route?.value == nil && events[8].emotionLevel == .unknown("future_level"))
        #expect(events[1].reason == .handoff(.notHelped) && events[2].reason == .handoff(.complaint))
        #expect(events[2].action == .claim && events[3].action == .withdrawn)
        #expect(events[4].reason == .idle && events[5].reason == .withdrawn)
        #expect(events[6].reason == .other("future_reason") && events[7].action == .other("future_action"))
        // A code that looks like a known one decodes as it, never as `other`.
        #expect(EventReason(rawValue: "safety") == .handoff(.safety) && EventAction(rawValue: "next") == .next)
        #expect(ServiceMetrics(events: events).handoffReasons == ["not_helped": 1, "future_reason": 1])
    }

    static func event(_ kind: ServiceEvent.Kind, _ conversation: String?, at seconds: Double, _ edit: (inout ServiceEvent) -> Void = { _ in }) -> ServiceEvent {
        var e = ServiceEvent(kind: kind, time: t0.addingTimeInterval(seconds))
        e.conversation = conversation
        edit(&e)
        return e
    }

    @Test("containment, handoff, fallback, time to claim and satisfaction come out as constructed")
    func figuresFromConstructedLog() {
        let events = [
            Self.event(.message, "c1", at: 0) { $0.route = StoredCode(.answer); $0.topic = "points" },
            Self.event(.message, "c1", at: 1) { $0.route = StoredCode(.fallback) },
            Self.event(.rating, "c1", at: 2) { $0.score = 5 },
            Self.event(.message, "c2", at: 0) { $0.route = StoredCode(.clarify); $0.topic = "card_service" },
            Self.event(.message, "c2", at: 5) { $0.route = StoredCode(.handoff); $0.topic = "complaint" },
            Self.event(.handoff, "c2", at: 5) { $0.reason = .handoff(.complaint); $0.ticket = "T1" },
            Self.event(.agentAction, nil, at: 65) { $0.action = .claim; $0.ticket = "T1" },
            Self.event(.agentAction, nil, at: 70) { $0.action = .claim; $0.ticket = "T1" },  // a second claim does not count
            Self.event(.rating, "c2", at: 99) { $0.score = 2 },
            Self.event(.message, "c3", at: 0) { $0.route = StoredCode(.answer); $0.topic = "points" },
            Self.event(.message, "c4", at: 0) { $0.route = StoredCode(.handoff) },
            Self.event(.handoff, "c4", at: 0) { $0.reason = .handoff(.safety); $0.ticket = "T2" },
            Self.event(.agentAction, nil, at: 180) { $0.action = .next; $0.ticket = "T2" },
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
        #expect(events.last?.reason == .handoff(.notHelped))
    }
}
