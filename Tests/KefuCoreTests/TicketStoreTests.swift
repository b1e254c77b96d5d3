import Foundation
import Testing
@testable import KefuCore

@Suite("The handoff queue")
struct TicketStoreTests {
    static func folder() -> String { Scratch.folder("queue") }
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func draft(_ customer: String, _ reason: HandoffReason) -> TicketDraft {
        TicketDraft(conversation: "conv-\(customer)", customer: customer, channel: "test", reason: reason, topic: "card_service",
                    summary: "客户 \(customer)", facts: [], transcript: [TranscriptLine(time: t0, from: "customer", text: "hi")], turns: [])
    }

    @Test("danger and money come first, then threats and emotion, then the rest, each in order of arrival")
    func priorityOrder() throws {
        let store = try TicketStore(folder: Self.folder())
        let arrivals: [(String, HandoffReason)] = [("a", .requested), ("b", .complaint), ("c", .threat), ("d", .money),
                                                    ("e", .requested), ("f", .safety), ("g", .emotion)]
        for (i, (customer, reason)) in arrivals.enumerated() {
            _ = try store.open(Self.draft(customer, reason), now: Self.t0.addingTimeInterval(Double(i)))
        }
        #expect(store.queue().map(\.customer) == ["d", "f", "c", "g", "b", "a", "e"])
        let d = try #require(store.openTicket(customer: "d"))
        #expect(store.position(of: d.id) == 1)
        #expect(try store.claimNext(agent: "x", now: Self.t0)?.customer == "d")
        #expect(try store.claimNext(agent: "x", now: Self.t0)?.customer == "f")
    }

    @Test("a ticket claimed by one agent cannot be claimed, answered or resolved by another")
    func claimConflicts() throws {
        let store = try TicketStore(folder: Self.folder())
        let t = try store.open(Self.draft("a", .requested), now: Self.t0)
        try store.claim(t.id, agent: "张三", now: Self.t0)
        #expect(throws: TicketError.claimedByOther(t.id, agent: "张三")) { try store.claim(t.id, agent: "李四", now: Self.t0) }
        #expect(throws: TicketError.claimedByOther(t.id, agent: "张三")) { try store.reply(t.id, agent: "李四", text: "x", now: Self.t0) }
        #expect(throws: TicketError.claimedByOther(t.id, agent: "张三")) { try store.resolve(t.id, agent: "李四", note: nil, now: Self.t0) }
        try store.claim(t.id, agent: "张三", now: Self.t0)  // claiming again is harmless
        try store.resolve(t.id, agent: "张三", note: "done", now: Self.t0)
        #expect(throws: TicketError.alreadyResolved(t.id)) { try store.claim(t.id, agent: "张三", now: Self.t0) }
        #expect(throws: TicketError.unknown("T999999")) { try store.claim("T999999", agent: "张三", now: Self.t0) }
    }

    @Test("release puts a ticket back; transfer hands it to another agent")
    func releaseAndTransfer() throws {
        let store = try TicketStore(folder: Self.folder())
        let t = try store.open(Self.draft("a", .requested), now: Self.t0)
        #expect(throws: TicketError.notClaimed(t.id)) { try store.release(t.id, agent: "张三", now: Self.t0) }
        try store.claim(t.id, agent: "张三", now: Self.t0)
        try store.release(t.id, agent: "张三", now: Self.t0)
        #expect(store.ticket(t.id)?.state == .waiting)
        try store.claim(t.id, agent: "张三", now: Self.t0)
        try store.transfer(t.id, from: "张三", to: "王五", now: Self.t0)
        #expect(store.ticket(t.id)?.assignee == "王五")
        try store.reply(t.id, agent: "王五", text: "您好", now: Self.t0)
        #expect(store.ticket(t.id)?.agentReplies.map(\.text) == ["您好"])
    }

    @Test("only the holder or a supervisor may transfer or release a claimed ticket, whatever the other agent is called")
    func supervisorsMoveOthersTickets() throws {
        let store = try TicketStore(folder: Self.folder())
        let t = try store.open(Self.draft("a", .requested), now: Self.t0)
        try store.transfer(t.id, from: "李四", to: "张三", now: Self.t0)  // a waiting ticket: anyone may assign it
        #expect(store.ticket(t.id)?.assignee == "张三")
        for other in ["李四", "supervisor"] {
            #expect(throws: TicketError.heldByOther(t.id, agent: "张三")) { try store.transfer(t.id, from: other, to: other, now: Self.t0) }
            #expect(throws: TicketError.heldByOther(t.id, agent: "张三")) { try store.release(t.id, agent: other, now: Self.t0) }
        }
        try store.transfer(t.id, from: "主管", to: "李四", supervisor: true, now: Self.t0)
        #expect(store.ticket(t.id)?.assignee == "李四")
        try store.release(t.id, agent: "主管", supervisor: true, now: Self.t0)
        #expect(store.ticket(t.id)?.state == .waiting)
        #expect(throws: TicketError.notClaimed(t.id)) { try store.release(t.id, agent: "主管", supervisor: true, now: Self.t0) }
    }

    @Test("everything survives a reopen, in the same state")
    func replayRestoresState() throws {
        let folder = Self.folder()
        let store = try TicketStore(folder: folder)
        let t = try store.open(Self.draft("a", .money), now: Self.t0)
        try store.claim(t.id, agent: "张三", now: Self.t0.addingTimeInterval(90))
        try store.note(t.id, agent: "张三", text: "已冻结", now: Self.t0)
        let reopened = try TicketStore(folder: folder)
        #expect(reopened.ticket(t.id) == store.ticket(t.id))
        #expect(reopened.typicalWait() == 90)
    }

    @Test("two stores on one folder (two processes) share one sequence and see each other's claims")
    func twoWriters() throws {
        let folder = Self.folder()
        let one = try TicketStore(folder: folder), two = try TicketStore(folder: folder)
        let a = try one.open(Self.draft("a", .requested), now: Self.t0)
        let b = try two.open(Self.draft("b", .requested), now: Self.t0)
        #expect(a.id != b.id)
        try two.claim(a.id, agent: "李四", now: Self.t0)
        #expect(throws: TicketError.claimedByOther(a.id, agent: "李四")) { try one.claim(a.id, agent: "张三", now: Self.t0) }
        try one.refresh()
        #expect(one.queue().count == 2)
    }

    @Test("a torn last record is reported, not applied, and later writes are clean")
    func tornLastRecord() throws {
        let folder = Self.folder()
        let store = try TicketStore(folder: folder)
        let t = try store.open(Self.draft("a", .requested), now: Self.t0)
        let log = folder + "/tickets.log"
        let handle = try #require(FileHandle(forWritingAtPath: log))
        handle.seekToEndOfFile()
        handle.write(Data("8badf00d {\"op\":\"claim\",\"id\":\"\(t.id)\",\"ag".utf8))  // a write cut short
        try handle.close()
        let reopened = try TicketStore(folder: folder)
        #expect(reopened.notices.count == 1)
        #expect(reopened.notices.first?.message.contains("incomplete last record") == true)
        #expect(reopened.ticket(t.id)?.state == .waiting, "the unacknowledged claim is not applied")
        _ = try reopened.open(Self.draft("b", .requested), now: Self.t0)
        let again = try TicketStore(folder: folder)
        #expect(again.notices.isEmpty)
        #expect(again.queue().count == 2)
    }

    @Test("a damaged record in the middle is reported with its line and skipped")
    func damagedMiddleRecord() throws {
        let (folder, _, _) = try Self.queue(["a", "b", "c"])
        let log = folder + "/tickets.log"
        var lines = try String(contentsOfFile: log, encoding: .utf8).components(separatedBy: "\n")
        lines[1] = lines[1].replacingOccurrences(of: "\"b\"", with: "\"B\"")
        try lines.joined(separator: "\n").write(toFile: log, atomically: false, encoding: .utf8)
        let reopened = try TicketStore(folder: folder)
        #expect(reopened.notices.map(\.line) == [2])
        #expect(reopened.queue().map(\.customer) == ["a", "c"])
    }

    /// A fresh data folder whose queue holds one waiting ticket per customer, in order.
    static func queue(_ customers: [String]) throws -> (folder: String, store: TicketStore, ids: [String]) {
        let folder = Self.folder()
        let store = try TicketStore(folder: folder)
        let ids = try customers.map { try store.open(Self.draft($0, .requested), now: Self.t0).id }
        return (folder, store, ids)
    }

    /// A record line with a valid checksum over `payload`, as a process would have written it.
    static func record(_ payload: String) -> String {
        String(decoding: Journal.checksumPrefix(Data(payload.utf8)), as: UTF8.self) + payload
    }

    static func rewrite(_ folder: String, _ change: (inout [String]) -> Void) throws {
        let log = folder + "/tickets.log"
        var lines = try String(contentsOfFile: log, encoding: .utf8).components(separatedBy: "\n")
        change(&lines)
        try lines.joined(separator: "\n").write(toFile: log, atomically: false, encoding: .utf8)
    }

    @Test("a damaged early record never makes tickets share an id: three handoffs after a restart get new ids and none is overwritten")
    func damagedRecordDoesNotReuseIDs() throws {
        let (folder, _, before) = try Self.queue(["a", "b", "c", "d"])
        try Self.rewrite(folder) { lines in
            // One byte changed in the first ticket's record: its checksum no longer matches.
            lines[0] = lines[0].replacingOccurrences(of: "\"a\"", with: "\"x\"")
        }
        let restarted = try TicketStore(folder: folder)
        #expect(restarted.notices.map(\.line) == [1])
        let after = try ["e", "f", "g"].map { try restarted.open(Self.draft($0, .requested), now: Self.t0).id }
        #expect(Set(after).count == 3, "each new handoff is told its own number")
        #expect(Set(after).isDisjoint(with: before), "no number already told to a customer is told again")
        let replayed = try TicketStore(folder: folder)
        #expect(replayed.queue().map(\.customer) == ["b", "c", "d", "e", "f", "g"], "nothing was overwritten on replay")
    }

    @Test("a record with a valid checksum that cannot be applied is reported with its line, and its ticket number stays used")
    func unreadableValidRecordIsReported() throws {
        let (folder, _, _) = try Self.queue(["a", "b"])
        try Self.rewrite(folder) { lines in
            lines[1] = Self.record(#"{"op":"open","id":"T000002","at":"not a time"}"#)
            lines.insert(Self.record(#"{"op":"claim","id":"T000777","at":"2027-01-15T08:00:00.000Z","agent":"张三"}"#), at: 2)
        }
        let restarted = try TicketStore(folder: folder)
        #expect(restarted.notices.map(\.line) == [2, 3])
        #expect(restarted.notices.map(\.description).allSatisfy { $0.hasPrefix(folder + "/tickets.log:") })
        let next = try restarted.open(Self.draft("c", .requested), now: Self.t0)
        #expect(next.id == "T000778", "numbered above every id the journal mentions")
    }

    @Test("repairing a torn tail cuts exactly the unfinished record and says how many bytes it cut")
    func tornTailIsCutExactly() throws {
        let (folder, _, _) = try Self.queue(["a", "b", "c"])
        let log = folder + "/tickets.log"
        let whole = try Data(contentsOf: URL(fileURLWithPath: log))
        let lastStart = whole.dropLast().lastIndex(of: 0x0A)! + 1
        try whole.dropLast(7).write(to: URL(fileURLWithPath: log))
        let restarted = try TicketStore(folder: folder)
        let repaired = try Data(contentsOf: URL(fileURLWithPath: log))
        #expect(repaired == whole.prefix(lastStart), "the file ends at the last good record, with nothing added")
        #expect(!repaired.contains(0))
        #expect(restarted.notices.first?.message.contains("cut \(whole.count - 7 - lastStart) bytes") == true)
        #expect(restarted.queue().map(\.customer) == ["a", "b"])
        #expect(try restarted.open(Self.draft("d", .requested), now: Self.t0).id == "T000004", "the torn ticket's number is not reused")
    }

    @Test("queue positions follow the journal's order even when the writers' clocks disagree")
    func positionsFollowJournalOrder() throws {
        let folder = Self.folder()
        let one = try TicketStore(folder: folder), two = try TicketStore(folder: folder)
        let first = try one.open(Self.draft("a", .requested), now: Self.t0.addingTimeInterval(5))
        let second = try two.open(Self.draft("b", .requested), now: Self.t0)  // its clock read earlier, its write came later
        #expect(two.position(of: first.id) == 1)
        #expect(two.position(of: second.id) == 2)
    }

    @Test("a ticket's wait stops when it is claimed")
    func waitStopsAtClaim() throws {
        let store = try TicketStore(folder: Self.folder())
        let t = try store.open(Self.draft("a", .requested), now: Self.t0)
        try store.claim(t.id, agent: "张三", now: Self.t0.addingTimeInterval(2))
        try store.resolve(t.id, agent: "张三", note: nil, now: Self.t0.addingTimeInterval(60))
        let resolved = try #require(store.ticket(t.id))
        #expect(resolved.waited(now: Self.t0.addingTimeInterval(3600)) == 2)
        #expect(TicketJSON.listing(resolved, now: Self.t0.addingTimeInterval(3600))["waiting_seconds"] as? Int == 2)
    }
}
