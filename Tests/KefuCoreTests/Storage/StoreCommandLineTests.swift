import Foundation
import Testing
@testable import KefuCore

/// `--store redis://…` on the commands that use the queue and the events.
@Suite("kefu with --store on Redis", .serialized)
struct StoreCommandLineTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("kefu agent next/list/resolve, kefu stats and kefu report work on the tickets and events in Redis")
    func agentStatsReport() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let folder = Scratch.folder("store-cli")
        let desk = try RedisStore.desk(url: server.url, folder: folder)
        let draft = TicketDraft(conversation: "c1", customer: "u1", channel: "tcp", reason: .complaint, topic: "card_service",
                                summary: "投诉", facts: [], transcript: [], turns: [])
        let ticket = try desk.tickets.open(draft, now: Self.t0)
        var handoff = ServiceEvent(kind: .handoff, time: Self.t0)
        handoff.ticket = ticket.id
        handoff.reason = .handoff(.complaint)
        try desk.events.record(handoff)
        let cli = CommandLineTests()
        let next = try cli.run(["agent", "next", "--as", "张三", "--store", server.url, "--data", folder])
        #expect(next.status == 0, "\(next.err)")
        #expect(next.out.contains(ticket.id))
        #expect(try desk.tickets.ticket(ticket.id)?.assignee == "张三")
        let list = try cli.run(["agent", "list", "--json", "--store", server.url, "--data", folder])
        #expect(list.status == 0 && list.out.contains(ticket.id) && list.out.contains("张三"))
        let resolve = try cli.run(["agent", "resolve", ticket.id, "--as", "张三", "--store", server.url, "--data", folder])
        #expect(resolve.status == 0, "\(resolve.err)")
        #expect(try desk.tickets.ticket(ticket.id)?.state == .resolved)
        let stats = try cli.run(["stats", "--json", "--store", server.url, "--data", folder])
        #expect(stats.status == 0, "\(stats.err)")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(stats.out.utf8)) as? [String: Any])
        #expect((figures["handoff_reasons"] as? [String: Int])?["complaint"] == 1, "\(stats.out)")
        let events = try desk.events.readAll().events
        #expect(events.map(\.kind) == [.handoff, .agentAction, .agentAction], "the handoff and the two agent actions, from any process")
        let report = try cli.run(["report", "--json", "--store", server.url, "--data", folder])
        #expect(report.status == 0, "\(report.err)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/tickets.log"), "nothing in the data folder's journals")
    }

    @Test("a --store nobody answers at, or that is not redis://, fails at once with what to do")
    func unreachable() throws {
        let port = try RedisServerProcess.freePort()
        let cli = CommandLineTests()
        let down = try cli.run(["agent", "list", "--store", "redis://:secret@127.0.0.1:\(port)", "--data", Scratch.folder("store-cli")])
        #expect(down.status != 0)
        #expect(down.err.contains("cannot use the store redis://:***@127.0.0.1:\(port)") && down.err.contains("connection refused"), "\(down.err)")
        #expect(!down.err.contains("secret"), "the password is never printed")
        let wrong = try cli.run(["stats", "--store", "http://127.0.0.1:\(port)"])
        #expect(wrong.status != 0 && wrong.err.contains("--store takes redis://"))
    }
}
