import Testing
@testable import KefuCore

/// The announcements instances send each other on `kefu:relay` (`RelayNotice`).
@Suite("Relay notices on the wire")
struct RelayNoticeTests {
    @Test("a notice reads back as written, with or without the agent it is for")
    func roundTrip() {
        let notices = [RelayNotice(.handoff, ticket: "T000012", origin: "a1b2"),
                       RelayNotice(.released, ticket: "T000012", origin: "a1b2", agent: "张三")]
        for notice in notices { #expect(RelayNotice(wire: notice.wire) == notice, "\(notice.wire)") }
        #expect(notices[1].wire == "released T000012 a1b2 张三")
    }

    @Test("a bare ticket id, as earlier versions and kefu agent announced replies, is a reply")
    func bareIdIsReply() {
        #expect(RelayNotice(wire: "T000007") == RelayNotice(.reply, ticket: "T000007", origin: ""))
    }

    @Test("anything else on the channel is ignored: an unknown kind, no ticket id, extra words")
    func junkIsIgnored() {
        for junk in ["", "hello", "reply 42 a1b2", "teleport T000001 a1b2", "reply T000001", "reply T000001 a1b2 张三 extra"] {
            #expect(RelayNotice(wire: junk) == nil, "\(junk)")
        }
    }
}
