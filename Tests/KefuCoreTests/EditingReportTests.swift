import Foundation
import Testing
@testable import KefuCore

/// `kefu report`: figures on a constructed event log whose answers are known, the
/// unanswered-message clusters, the JSON keys integrations read and the HTML page.
@Suite("Service report")
struct EditingReportTests {
    /// 2026-11-20 02:00 UTC, 10:00 in Asia/Shanghai (the default company timezone).
    static let t0 = Date(timeIntervalSince1970: 1_795_140_000)

    static func event(_ kind: ServiceEvent.Kind, _ conversation: String, _ customer: String, at seconds: Double,
                      _ edit: (inout ServiceEvent) -> Void = { _ in }) -> ServiceEvent {
        var e = ServiceEvent(kind: kind, time: t0.addingTimeInterval(seconds))
        e.conversation = conversation
        e.customer = customer
        edit(&e)
        return e
    }

    static func message(_ c: String, _ customer: String, at seconds: Double, _ text: String, route: Route, topic: String?, confidence: Double) -> ServiceEvent {
        event(.message, c, customer, at: seconds) { $0.text = text; $0.route = StoredCode(route); $0.topic = topic; $0.confidence = confidence }
    }

    /// Ten conversations: c1, c3, c4, c5 resolved at first contact; c2 followed by a repeat on
    /// the same topic within 24 hours (c3); c5 repeats c4's topic after 25 hours, too late to
    /// count; c6 handed off; c7 only fallbacks; c8 only a greeting (no need raised); c9 「没用」;
    /// c10 only a low-confidence clarification.
    static let events: [ServiceEvent] = [
        message("c1", "u1", at: 0, "退款怎么申请", route: .answer, topic: "return_refund", confidence: 0.9),
        event(.rating, "c1", "u1", at: 60) { $0.score = 5 },
        message("c2", "u2", at: 0, "卡丢了", route: .answer, topic: "card_service", confidence: 0.8),
        message("c3", "u2", at: 3600, "卡丢了还没处理", route: .answer, topic: "card_service", confidence: 0.7),
        message("c4", "u3", at: 0, "快递到哪了", route: .answer, topic: "order_status", confidence: 0.9),
        message("c5", "u3", at: 25 * 3600, "物流查询", route: .answer, topic: "order_status", confidence: 0.9),
        message("c6", "u4", at: 0, "转人工", route: .handoff, topic: "human_agent", confidence: 0.95),
        event(.handoff, "c6", "u4", at: 10) { $0.reason = .handoff(.requested); $0.ticket = "T1" },
        event(.agentAction, "c6", "u4", at: 130) { $0.action = .claim; $0.ticket = "T1" },
        event(.rating, "c6", "u4", at: 400) { $0.score = 4 },
        message("c7", "u5", at: 5 * 3600, "发票怎么开", route: .fallback, topic: "out_of_scope", confidence: 0.05),
        message("c7", "u5", at: 5 * 3600 + 30, "电子发票在哪下载", route: .fallback, topic: "out_of_scope", confidence: 0.04),
        message("c7", "u5", at: 5 * 3600 + 60, "后天天气怎么样", route: .fallback, topic: "out_of_scope", confidence: 0.15),
        message("c7", "u5", at: 5 * 3600 + 90, "明后天的天气预报", route: .fallback, topic: "out_of_scope", confidence: 0.12),
        message("c8", "u6", at: 0, "你好", route: .answer, topic: "greeting", confidence: 0.9),
        message("c9", "u7", at: 0, "我要退款", route: .answer, topic: "return_refund", confidence: 0.9),
        message("c9", "u7", at: 20, "没用", route: .answer, topic: "return_refund", confidence: 0.1),
        message("c10", "u8", at: 0, "退款还是退货呢", route: .clarify, topic: "return_refund", confidence: 0.3),
    ]

    /// The fixture with out-of-scope examples, so that small talk has somewhere to go.
    static func knowledgeBase() throws -> KnowledgeBase {
        var entries = KnowledgeFixture.standardEntries
        entries["out_of_scope/chitchat.md"] = KnowledgeFixture.entry("chitchat", topic: "out_of_scope",
            questions: ["今天天气怎么样", "明天会下雨吗", "讲个笑话", "帮我订机票", "推荐一部电影", "你几岁了"])
        return try KnowledgeFixture.make(entries: entries).load()
    }

    static func report(since: Date? = nil) throws -> ServiceReport {
        ServiceReport(events: events, kb: try knowledgeBase(), since: since)
    }

    @Test("conversations, containment, handoffs, fallbacks, time to claim and satisfaction come out as constructed")
    func headlineFigures() throws {
        let r = try Self.report()
        #expect(r.metrics.conversations == 10)
        #expect(r.metrics.messages == 14)
        #expect(r.metrics.containmentRate == 0.9)
        #expect(r.metrics.handoffRate == 0.1)
        #expect(r.metrics.handoffReasons == ["requested": 1])
        #expect(abs(r.metrics.fallbackRate - 4.0 / 14) < 1e-9)
        #expect(abs(r.metrics.clarificationRate - 1.0 / 14) < 1e-9)
        #expect(r.metrics.medianSecondsToClaim == 120)
        #expect(r.metrics.satisfactionAverage == 4.5)
    }

    @Test("first-contact resolution: answered, no person, no 「没用」, no repeat on the topic within 24 hours")
    func firstContactResolution() throws {
        let r = try Self.report()
        #expect(r.needConversations == 9, "c8 only greeted")
        #expect(r.resolvedAtFirstContact == 4, "c1, c3, c4, c5")
        #expect(r.firstContactResolution == 4.0 / 9)
    }

    @Test("messages per hour are counted in the company timezone")
    func busiestHours() throws {
        let r = try Self.report()
        #expect(r.timeZone.identifier == "Asia/Shanghai")
        #expect(r.hourly[10] == 8)
        #expect(r.hourly[11] == 2, "c3 at 11:00 and c5 at 11:00 the next day")
        #expect(r.hourly[15] == 4)
        #expect(r.hourly.reduce(0, +) == 14)
        #expect(r.busiestHours.first?.hour == 10)
    }

    @Test("a log written before the current masking rules has its numbers masked in the report's examples")
    func clusterExamplesMasked() throws {
        let legacy = [Self.message("c1", "tel13812345678", at: 0, "我的手机tel13812345678打不通", route: .fallback, topic: "out_of_scope", confidence: 0.05)]
        let r = ServiceReport(events: legacy, kb: try Self.knowledgeBase())
        #expect(r.clusters.flatMap { $0.examples() } == ["我的手机tel138****5678打不通"])
    }

    @Test("unanswered and low-confidence messages are clustered by likeness, control replies left out")
    func clusters() throws {
        let r = try Self.report()
        #expect(r.unansweredMessages == 5, "four fallbacks and one clarification; 「没用」 is no question")
        #expect(r.clusters.count == 3)
        let invoices = try #require(r.clusters.first)
        #expect(invoices.size == 2)
        #expect(Set(invoices.examples()) == ["发票怎么开", "电子发票在哪下载"])
        let weather = r.clusters[1]
        #expect(Set(weather.examples()) == ["后天天气怎么样", "明后天的天气预报"])
        #expect(weather.suggestedTopic == "out_of_scope")
        #expect(weather.suggestedEntry == nil)
        let refund = try #require(r.clusters.last)
        #expect(refund.examples() == ["退款还是退货呢"])
        #expect(refund.suggestedTopic == "return_refund")
        #expect(refund.suggestedEntry == "refund")
    }

    @Test("--since leaves earlier events out")
    func since() throws {
        let r = try Self.report(since: Self.t0.addingTimeInterval(3 * 3600))
        #expect(r.metrics.conversations == 2, "c5 and c7")
        #expect(r.metrics.messages == 5)
    }

    @Test("the JSON object has the keys integrations read")
    func jsonKeys() throws {
        let d = try Self.report().dictionary
        for key in ["conversations", "containment_rate", "handoff_rate", "handoff_reasons", "fallback_rate", "satisfaction_average",
                    "unanswered_clusters", "first_contact_resolution", "clarification_rate", "median_seconds_to_claim",
                    "p90_seconds_to_claim", "satisfaction_distribution", "busiest_hours", "hourly_messages", "top_topics", "timezone"] {
            #expect(d[key] != nil, "missing \(key)")
        }
        let clusters = try #require(d["unanswered_clusters"] as? [[String: Any]])
        #expect(clusters.first?["size"] as? Int == 2)
        #expect((clusters.first?["examples"] as? [String])?.count == 2)
        #expect(clusters.first?["suggested_topic"] is String)
        #expect(clusters.first?.keys.contains("suggested_entry") == true)
        #expect((d["satisfaction_distribution"] as? [String: Int]) == ["1": 0, "2": 0, "3": 0, "4": 1, "5": 1])
        let data = try JSONSerialization.data(withJSONObject: d)
        #expect(!data.isEmpty)
    }

    @Test("the HTML page is self-contained: inline CSS and SVG charts, no scripts, no external assets, text escaped")
    func htmlPage() throws {
        var events = Self.events
        events.append(Self.message("c11", "u9", at: 40, "<script>alert(1)</script> 发票", route: .fallback, topic: "out_of_scope", confidence: 0.01))
        let html = ReportPage.html(ServiceReport(events: events, kb: try Self.knowledgeBase()))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<style>"))
        #expect(html.components(separatedBy: "<svg").count - 1 >= 4, "handoff reasons, ratings, hourly volume, topics")
        #expect(!html.contains("<script"), "customer text is escaped")
        #expect(html.contains("&lt;script&gt;"))
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("@import") && !html.contains("url("))
        #expect(html.contains("首次解决率"))
    }

    @Test("an empty event log reports zeros and an empty page, not a crash")
    func emptyLog() throws {
        let r = ServiceReport(events: [], kb: try KnowledgeFixture.make().load())
        #expect(r.metrics.conversations == 0)
        #expect(r.firstContactResolution == nil)
        #expect(r.clusters.isEmpty)
        #expect(ReportPage.html(r).contains("事件日志为空"))
    }
}
