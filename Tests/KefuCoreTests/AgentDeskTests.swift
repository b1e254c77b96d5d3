import Foundation
import Testing
@testable import KefuCore

/// `AgentDesk` on a scratch data folder: what each action changes, what it records, and whom
/// a channel should tell.
@Suite("The agent desk")
struct AgentDeskTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// A fresh data folder holding one waiting ticket, T000001.
    static func deskWithTicket(_ reason: HandoffReason = .complaint) throws -> ServiceDesk {
        let desk = try ServiceDesk(folder: Scratch.folder("desk"))
        let draft = TicketDraft(conversation: "conv-1", customer: "客户13812345678", channel: "test", reason: reason, topic: "card_service",
                                summary: "客户要投诉", facts: [], transcript: [TranscriptLine(time: t0, from: "customer", text: "我要投诉")], turns: [])
        _ = try desk.tickets.open(draft, now: t0)
        return desk
    }

    static func agentEvents(_ desk: ServiceDesk) throws -> [ServiceEvent] {
        try EventLog.read(folder: desk.folder).events.filter { $0.kind == .agentAction }
    }

    @Test("every action changes the ticket and records one agent_action event with the ticket's conversation, customer and reason")
    func everyActionIsRecorded() throws {
        let desk = try Self.deskWithTicket()
        let zhang = AgentDesk(desk: desk, agent: "张三", role: .agent), li = AgentDesk(desk: desk, agent: "李四", role: .agent)
        #expect(try zhang.claim("T000001", now: Self.t0).assignee == "张三")
        #expect(try zhang.reply("T000001", text: "您好", now: Self.t0).agentReplies.map(\.text) == ["您好"])
        #expect(try zhang.note("T000001", text: "已核实", now: Self.t0).history.last?.action == "note")
        #expect(try zhang.transfer("T000001", to: "李四", now: Self.t0).ticket.assignee == "李四")
        #expect(try li.release("T000001", now: Self.t0).ticket.state == .waiting)
        #expect(try zhang.next(now: Self.t0)?.id == "T000001")
        #expect(try zhang.resolve("T000001", note: "已处理", now: Self.t0).state == .resolved)

        let events = try Self.agentEvents(desk)
        #expect(events.map { "\($0.action?.rawValue ?? "?") \($0.agent ?? "?")" }
                == ["claim 张三", "reply 张三", "note 张三", "transfer 张三", "release 李四", "next 张三", "resolve 张三"])
        for e in events {
            #expect(e.ticket == "T000001")
            #expect(e.conversation == "conv-1")
            #expect(e.customer == PrivacyMask.mask("客户13812345678"), "masked, as every event's customer")
            #expect(e.reason == .handoff(.complaint))
            #expect(e.time == Self.t0)
        }
    }

    @Test("a refused action changes nothing and records nothing")
    func refusedActionsAreNotRecorded() throws {
        let desk = try Self.deskWithTicket()
        let zhang = AgentDesk(desk: desk, agent: "张三", role: .agent), li = AgentDesk(desk: desk, agent: "李四", role: .agent)
        try zhang.claim("T000001", now: Self.t0)
        #expect(throws: TicketError.claimedByOther("T000001", agent: "张三")) { try li.reply("T000001", text: "x", now: Self.t0) }
        #expect(throws: TicketError.heldByOther("T000001", agent: "张三")) { try li.transfer("T000001", to: "李四", now: Self.t0) }
        #expect(throws: TicketError.heldByOther("T000001", agent: "张三")) { try li.release("T000001", now: Self.t0) }
        #expect(throws: TicketError.unknown("T999999")) { try li.note("T999999", text: "x", now: Self.t0) }
        #expect(try li.next(now: Self.t0) == nil, "nothing waits: nothing claimed")
        #expect(try Self.agentEvents(desk).map(\.action) == [.claim])
        #expect(try desk.tickets.ticket("T000001")?.assignee == "张三")
    }

    @Test("transfer and release name the holder to tell only when someone else moved the ticket away from them")
    func handoverSaysWhomToTell() throws {
        let desk = try Self.deskWithTicket()
        let zhang = AgentDesk(desk: desk, agent: "张三", role: .agent), boss = AgentDesk(desk: desk, agent: "主管", role: .supervisor)
        let waiting = try zhang.transfer("T000001", to: "张三", now: Self.t0)
        #expect(waiting.previousHolder == nil && waiting.holderToTell == nil, "a waiting ticket had nobody to tell")
        let own = try zhang.transfer("T000001", to: "李四", now: Self.t0)
        #expect(own.previousHolder == "张三")
        #expect(own.holderToTell == nil, "张三 moved it himself")
        let moved = try boss.transfer("T000001", to: "张三", now: Self.t0)
        #expect(moved.previousHolder == "李四")
        #expect(moved.holderToTell == "李四", "a supervisor took it from 李四")
        let back = try boss.transfer("T000001", to: "张三", now: Self.t0)
        #expect(back.holderToTell == nil, "it went to the agent who held it")
        let released = try boss.release("T000001", now: Self.t0)
        #expect(released.previousHolder == "张三")
        #expect(released.holderToTell == "张三")
        try zhang.claim("T000001", now: Self.t0)
        #expect(try zhang.release("T000001", now: Self.t0).holderToTell == nil)
    }

    @Test("the agent holding a ticket sees its numbers unmasked, nobody else")
    func onlyTheHolderSeesNumbers() throws {
        let desk = try Self.deskWithTicket()
        let zhang = AgentDesk(desk: desk, agent: "张三", role: .agent), li = AgentDesk(desk: desk, agent: "李四", role: .agent)
        try zhang.claim("T000001", now: Self.t0)
        let t = try #require(try li.show("T000001"))
        #expect(zhang.seesUnmasked(t))
        #expect(!li.seesUnmasked(t))
        #expect(try li.show("T000404") == nil)
        #expect(try li.list().map(\.id) == ["T000001"])
        #expect(try Self.agentEvents(desk).map(\.action) == [.claim], "looking records nothing")
    }

    @Test("working on a data folder, the role comes from its accounts file; anyone else is an agent")
    func roleFromAccountsFile() throws {
        let folder = try AgentAccountFixture.folder()
        #expect(AgentDesk.role(of: "主管", inDataFolder: folder) == .supervisor)
        #expect(AgentDesk.role(of: "张三", inDataFolder: folder) == .agent)
        #expect(AgentDesk.role(of: "nobody", inDataFolder: folder) == .agent)
        #expect(AgentDesk.role(of: "主管", inDataFolder: Scratch.folder("no-accounts")) == .agent)
    }
}

/// The same agent work through `kefu serve`'s agent port and through `kefu agent` on a data
/// folder leaves the same history in the event log, so `kefu report` tells one story.
@Suite("Agent actions on every path")
struct AgentActionPathTests {
    /// The sequence both paths run: who does what to T000001.
    static let sequence: [(agent: String, action: String)] = [
        ("张三", "claim"), ("张三", "reply"), ("张三", "note"), ("张三", "transfer"), ("李四", "release"), ("张三", "claim"), ("张三", "resolve"),
    ]

    /// An event as both paths must write it: what, who, which ticket and why, and whether it
    /// names the ticket's own conversation and (masked) customer.
    static func shape(_ e: ServiceEvent, ticket: Ticket) -> String {
        "\(e.action?.rawValue ?? "-") by \(e.agent ?? "-") on \(e.ticket ?? "-") (\(e.reason?.rawValue ?? "-"))"
            + (e.conversation == ticket.conversation ? " conversation" : " WRONG conversation \(e.conversation ?? "none")")
            + (e.customer == PrivacyMask.mask(ticket.customer) ? " customer" : " WRONG customer \(e.customer ?? "none")")
    }

    static func recorded(in folder: String) throws -> [ServiceEvent] {
        try EventLog.read(folder: folder).events.filter { $0.kind == .agentAction }
    }

    @Test("every agent action is recorded the same way whether it comes through the server or the command line")
    func samePathSameHistory() throws {
        // Through the server's agent protocol.
        let server = try RunningGateway()
        let zhang = try server.loggedInAgent("张三"), li = try server.loggedInAgent("李四")
        let customer = try TestClient(server.customer)
        customer.send("/id c1")
        _ = customer.block()
        customer.send("转人工")
        #expect(customer.block()?.contains("T000001") == true)
        let lines = ["claim": "CLAIM T000001", "reply": "REPLY T000001 您好，我来处理", "note": "NOTE T000001 已核实身份",
                     "transfer": "TRANSFER T000001 李四", "release": "RELEASE T000001", "resolve": "RESOLVE T000001 已处理"]
        for step in Self.sequence {
            let answer = try (step.agent == "张三" ? zhang : li).client.request(lines[step.action]!)
            #expect(answer.first?.hasPrefix("OK") == true, "\(step): \(answer)")
        }
        // Each answer left after its event was synced: the log is complete.
        let served = try #require(try server.desk.tickets.ticket("T000001"))
        let viaServer = try Self.recorded(in: server.desk.folder)
        server.stop()

        // Through `kefu agent` on a data folder.
        let cli = CommandLineTests()
        let data = try AgentAccountFixture.folder()
        let kb = try KnowledgeFixture.make().folder
        #expect(try cli.run(["chat", "--kb", kb, "--data", data, "--customer", "c1"], input: "转人工\n").out.contains("T000001"))
        let arguments = ["claim": ["claim", "T000001"], "reply": ["reply", "T000001", "您好，我来处理"], "note": ["note", "T000001", "已核实身份"],
                         "transfer": ["transfer", "T000001", "--to", "李四"], "release": ["release", "T000001"],
                         "resolve": ["resolve", "T000001", "--note", "已处理"]]
        for step in Self.sequence {
            let result = try cli.run(["agent"] + arguments[step.action]! + ["--as", step.agent, "--data", data])
            #expect(result.status == 0, "\(step): \(result.err)")
        }
        let local = try #require(try TicketStore(folder: data, readOnly: true).ticket("T000001"))
        let viaCommandLine = try Self.recorded(in: data)

        let expected = Self.sequence.map { "\($0.action) by \($0.agent) on T000001 (requested) conversation customer" }
        #expect(viaServer.map { Self.shape($0, ticket: served) } == expected)
        #expect(viaCommandLine.map { Self.shape($0, ticket: local) } == expected)
        #expect(served.history.map(\.action) == local.history.map(\.action), "and the tickets tell the same story")
    }
}
