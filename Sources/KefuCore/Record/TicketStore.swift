import Foundation

/// The durable handoff queue: every ticket and everything done to it, in `tickets.log`.
///
/// The in-memory tickets are a replay of the journal. Each change is checked against the
/// latest state (after reading what other processes appended), written, synced, and only
/// then applied and returned: a caller that got a ticket back may tell the customer its
/// number, because it survives a crash from that moment on.
public final class TicketStore: TicketQueue, @unchecked Sendable {
    /// One journal record. Flat with optional fields so the file stays readable by eye.
    struct Record: Codable {
        var op: String
        var id: String?
        var at: Date
        var ticket: Ticket?
        var agent: String?
        var to: String?
        var text: String?
        var line: TranscriptLine?
        var turn: TurnRecord?
        var count: Int?
        var score: Int?
    }


    /// The journal and what replaying it built, under one lock: shared by a store and its
    /// group-committed view (`groupCommitted()`), so both see one queue.
    final class Replay: @unchecked Sendable {
        let journal: Journal
        var tickets: [String: Ticket] = [:]
        var order: [String] = []
        /// Where each ticket stands in the journal: arrival order that every process agrees on
        /// (creation times come from each process's clock, taken before it got the lock).
        var sequence: [String: Int] = [:]
        /// The highest ticket number ever seen in the journal, intact record or not: the next
        /// ticket is numbered above it, so a damaged record never makes two tickets share an id.
        var highestNumber = 0
        /// Each customer's ticket ids, oldest first: a new conversation looks up its customer's
        /// open or latest case on every start, which scanning every ticket made cost more with
        /// each handoff ever recorded.
        var byCustomer: [String: [String]] = [:]
        /// Ticket ids by the hash of the resume code their customer was given.
        var resumeHashes: [String: String] = [:]
        let lock = NSLock()

        init(journal: Journal) {
            self.journal = journal
        }

        /// Raises `highestNumber` past every `T` + six digits in a damaged record, so that an id
        /// that may have been told to a customer is never given to another.
        func noteNumbers(in bytes: ArraySlice<UInt8>) {
            var i = bytes.startIndex
            while i < bytes.endIndex {
                if bytes[i] == UInt8(ascii: "T"), i + 7 <= bytes.endIndex,
                   bytes[(i + 1)..<(i + 7)].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                   i + 7 == bytes.endIndex || !(bytes[i + 7] >= 0x30 && bytes[i + 7] <= 0x39) {
                    let number = bytes[(i + 1)..<(i + 7)].reduce(0) { $0 * 10 + Int($1 - 0x30) }
                    highestNumber = max(highestNumber, number)
                    i += 7
                } else {
                    i += 1
                }
            }
        }

        func apply(_ payload: Data, line: Int) throws {
            guard let record = try? TicketStore.decoder.decode(Record.self, from: payload) else {
                noteNumbers(in: ArraySlice(payload))
                journal.report(line: line, "record has a valid checksum but cannot be read as a ticket change; skipped (its ticket number stays used)")
                return
            }
            if let problem = apply(record) { journal.report(line: line, problem) }
        }

        /// Applies one record; returns why it could not be, if it could not.
        @discardableResult
        func apply(_ r: Record) -> String? {
            if let number = (r.ticket?.id ?? r.id).flatMap(TicketStore.ticketNumber) { highestNumber = max(highestNumber, number) }
            if r.op == "open" {
                guard let t = r.ticket else { return "an 'open' record without its ticket; skipped" }
                if tickets[t.id] == nil {
                    order.append(t.id)
                    sequence[t.id] = order.count
                    byCustomer[t.customer, default: []].append(t.id)
                }
                tickets[t.id] = t
                if let hash = t.resumeHash { resumeHashes[hash] = t.id }
                return nil
            }
            guard let id = r.id else { return "a '\(r.op)' record without a ticket id; skipped" }
            guard var t = tickets[id] else { return "'\(r.op)' for ticket \(id), which no readable record opened; skipped" }
            if let problem = TicketStore.change(&t, by: r) { return "\(problem) for ticket \(id); skipped (written by a newer kefu?)" }
            tickets[id] = t
            return nil
        }
    }

    private let replay: Replay
    /// False for the gateway's view (`groupCommitted()`): its changes are written at once but
    /// synced by `syncPending()`, once per batch.
    private let syncsEachChange: Bool
    /// Waits assumed before any ticket has been claimed.
    public static let defaultWait: TimeInterval = 180

    public var notices: [Journal.Notice] { replay.journal.notices }

    /// - Parameter readOnly: only to read (`kefu agent list`, `show`): works where the folder
    /// cannot be written; changes are refused. A missing journal reads as an empty queue.
    public init(folder: String, readOnly: Bool = false) throws {
        let path = (folder as NSString).appendingPathComponent("tickets.log")
        if !readOnly { try POSIX.makeDirectory(folder) }
        let journal = try Journal(path: readOnly && !FileManager.default.fileExists(atPath: path) ? "/dev/null" : path, readOnly: readOnly)
        let replay = Replay(journal: journal)
        journal.salvage = { [unowned replay] bytes in replay.noteNumbers(in: bytes) }
        try journal.catchUp { try replay.apply($0, line: $1) }
        self.replay = replay
        syncsEachChange = true
    }

    private init(sharing replay: Replay) {
        self.replay = replay
        syncsEachChange = false
    }

    /// The same queue for the gateway's group commit: each change is still checked, numbered
    /// and written under the journal's lock at once, so every process sees it and no id is
    /// given twice, but its `fsync` waits for `syncPending()`, which the committer calls once
    /// per batch before the batch's replies go out. A process killed in between loses nothing
    /// (the bytes are in the kernel); a machine that loses power loses only changes no reply
    /// had told anyone yet.
    public func groupCommitted() -> any TicketQueue {
        TicketStore(sharing: replay)
    }

    /// Syncs every change written so far (one `fsync`); nothing when there is none.
    public func syncPending() throws {
        try replay.journal.syncWritten()
    }

    // MARK: Reading

    /// Reads what other processes wrote since the last look.
    public func refresh() throws {
        try locked { try replay.journal.catchUp { try self.replay.apply($0, line: $1) } }
    }

    public func ticket(_ id: String) -> Ticket? { locked { replay.tickets[id] } }

    public func all() -> [Ticket] { locked { replay.order.compactMap { replay.tickets[$0] } } }

    /// The customer's ticket that is not resolved yet, if any.
    public func openTicket(customer: String) -> Ticket? {
        locked { replay.byCustomer[customer]?.reversed().lazy.compactMap { self.replay.tickets[$0] }.first { $0.isOpen } }
    }

    /// The customer's most recent ticket, open or not.
    public func latestTicket(customer: String) -> Ticket? {
        locked { replay.byCustomer[customer]?.last.flatMap { replay.tickets[$0] } }
    }

    /// The ticket whose customer was given this resume code, while the code still works: the
    /// ticket is open, or a person resolved it within `Ticket.followUpWindow`.
    public func resumable(codeHash: String, now: Date) -> Ticket? {
        locked {
            guard let t = replay.resumeHashes[codeHash].flatMap({ replay.tickets[$0] }) else { return nil }
            if t.isOpen { return t }
            guard let resolved = t.resolvedAt, now.timeIntervalSince(resolved) < Ticket.followUpWindow else { return nil }
            return t
        }
    }

    /// Waiting and claimed tickets, most urgent first: priority, then arrival.
    public func queue() -> [Ticket] {
        locked { sorted(replay.order.compactMap { replay.tickets[$0] }.filter(\.isOpen)) }
    }

    /// Most urgent first: priority, then the order in which the journal received them.
    private func sorted(_ list: [Ticket]) -> [Ticket] {
        list.sorted { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            return (replay.sequence[a.id] ?? 0) < (replay.sequence[b.id] ?? 0)
        }
    }

    /// 1 for the next ticket an agent will take; 0 when the ticket is not waiting. Counted on
    /// the journal as last read under its lock (right after `open`, that is the moment the
    /// ticket was written), in the journal's own order.
    public func position(of id: String) -> Int {
        locked {
            let waiting = sorted(replay.order.compactMap { replay.tickets[$0] }.filter { $0.state == .waiting })
            return (waiting.firstIndex { $0.id == id }).map { $0 + 1 } ?? 0
        }
    }

    /// Median wait from creation to first claim over the last 20 claimed tickets.
    public func typicalWait() -> TimeInterval {
        locked {
            let waits = replay.order.compactMap { replay.tickets[$0] }.compactMap { t in t.claimedAt.map { $0.timeIntervalSince(t.created) } }.suffix(20).sorted()
            guard !waits.isEmpty else { return Self.defaultWait }
            return max(30, waits[waits.count / 2])
        }
    }

    // MARK: Changing

    /// Opens a ticket; its id is one above the highest ever written to the shared journal.
    public func open(_ draft: TicketDraft, now: Date) throws -> Ticket {
        var created: Ticket?
        try write(now: now) {
            let id = Self.ticketID(self.replay.highestNumber + 1)
            let ticket = Ticket(opening: draft, id: id, at: now)
            created = ticket
            return Record(op: "open", id: id, at: now, ticket: ticket)
        }
        return created!
    }

    /// A customer's line (and what the bot understood of it) added to an open ticket.
    public func addCustomerMessage(_ id: String, line: TranscriptLine, turn: TurnRecord?, now: Date) throws {
        try write(now: now) {
            _ = try self.existing(id)
            return Record(op: "message", id: id, at: now, line: line, turn: turn)
        }
    }

    /// Lines the bot said while the case was with a person (hold messages, the rating question).
    public func addBotLine(_ id: String, text: String, now: Date) throws {
        try write(now: now) {
            _ = try self.existing(id)
            return Record(op: "message", id: id, at: now, line: TranscriptLine(time: now, from: "bot", text: text))
        }
    }

    @discardableResult
    public func claim(_ id: String, agent: String, now: Date) throws -> Ticket {
        try write(now: now) {
            let t = try self.open(id)
            if t.state == .claimed, let other = t.assignee, other != agent { throw TicketError.claimedByOther(id, agent: other) }
            return Record(op: "claim", id: id, at: now, agent: agent)
        }
        return ticket(id)!
    }

    /// Claims the most urgent waiting ticket, or returns nil when none waits.
    public func claimNext(agent: String, now: Date) throws -> Ticket? {
        var claimed: String?
        try write(now: now) {
            let waiting = self.sorted(self.replay.order.compactMap { self.replay.tickets[$0] }.filter { $0.state == .waiting })
            guard let next = waiting.first else { return nil }
            claimed = next.id
            return Record(op: "claim", id: next.id, at: now, agent: agent)
        }
        return claimed.flatMap(ticket)
    }

    /// Puts a claimed ticket back in the queue. Only the agent holding it may, or a
    /// supervisor (`supervisor: true`, the caller's role, checked where the caller logged in).
    /// Returns who held it, as read under the journal's lock (whom a channel may tell).
    @discardableResult
    public func release(_ id: String, agent: String, supervisor: Bool, now: Date) throws -> String {
        var held = ""
        try write(now: now) {
            let t = try self.open(id)
            guard t.state == .claimed, let holder = t.assignee else { throw TicketError.notClaimed(id) }
            if holder != agent && !supervisor { throw TicketError.heldByOther(id, agent: holder) }
            held = holder
            return Record(op: "release", id: t.id, at: now, agent: agent)
        }
        return held
    }

    /// Hands a ticket to `other`: a waiting one by anyone, a claimed one by the agent holding
    /// it or by a supervisor. Returns who held it before, if anyone, as read under the lock.
    @discardableResult
    public func transfer(_ id: String, from agent: String, to other: String, supervisor: Bool, now: Date) throws -> String? {
        var held: String?
        try write(now: now) {
            let t = try self.open(id)
            if let holder = t.assignee, holder != agent, !supervisor { throw TicketError.heldByOther(id, agent: holder) }
            held = t.assignee
            return Record(op: "transfer", id: id, at: now, agent: agent, to: other)
        }
        return held
    }

    public func note(_ id: String, agent: String, text: String, now: Date) throws {
        try write(now: now) {
            _ = try self.existing(id)
            return Record(op: "note", id: id, at: now, agent: agent, text: text)
        }
    }

    /// An agent's reply: recorded in the transcript, delivered when the customer is there.
    public func reply(_ id: String, agent: String, text: String, now: Date) throws {
        try write(now: now) {
            _ = try self.claimedBy(id, agent: agent)
            return Record(op: "reply", id: id, at: now, agent: agent, text: text)
        }
    }

    public func resolve(_ id: String, agent: String, note: String?, now: Date) throws {
        try write(now: now) {
            let t = try self.open(id)
            if let holder = t.assignee, holder != agent { throw TicketError.claimedByOther(id, agent: holder) }
            return Record(op: "resolve", id: id, at: now, agent: agent, text: note)
        }
    }

    /// The customer withdrew the request while it was still waiting: it leaves the queue.
    /// A ticket a person already holds is theirs to resolve; withdrawing it then throws.
    public func withdraw(_ id: String, now: Date) throws {
        try write(now: now) {
            let t = try self.open(id)
            guard t.state == .waiting else { throw TicketError.claimedByOther(id, agent: t.assignee ?? "?") }
            return Record(op: "withdraw", id: id, at: now)
        }
    }

    /// The case became more urgent (danger, anger, a threat while waiting): it moves up to
    /// `reason`'s priority and shows that reason. Nothing is written when the ticket already
    /// has as urgent a reason.
    public func escalate(_ id: String, reason: HandoffReason, now: Date) throws {
        try write(now: now) {
            let t = try self.open(id)
            let raises = reason.priority > t.priority || reason.severity > t.reason.severity
            return raises ? Record(op: "escalate", id: id, at: now, text: reason.rawValue, score: max(reason.priority, t.priority)) : nil
        }
    }

    /// The customer has now seen the first `count` agent replies.
    public func markDelivered(_ id: String, count: Int, now: Date) throws {
        try write(now: now) {
            let t = try self.existing(id)
            return count > t.deliveredReplies ? Record(op: "delivered", id: id, at: now, count: count) : nil
        }
    }

    public func rate(_ id: String, score: Int, now: Date) throws {
        guard (1...5).contains(score) else { throw TicketError.invalidRating(score) }
        try write(now: now) {
            _ = try self.existing(id)
            return Record(op: "rating", id: id, at: now, score: score)
        }
    }

    // MARK: Journal

    private func existing(_ id: String) throws -> Ticket {
        guard let t = replay.tickets[id] else { throw TicketError.unknown(id) }
        return t
    }

    private func open(_ id: String) throws -> Ticket {
        let t = try existing(id)
        if t.state == .resolved { throw TicketError.alreadyResolved(id) }
        return t
    }

    private func claimedBy(_ id: String, agent: String) throws -> Ticket {
        let t = try open(id)
        guard t.state == .claimed, let holder = t.assignee else { throw TicketError.notClaimed(id) }
        if holder != agent { throw TicketError.claimedByOther(id, agent: holder) }
        return t
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601WithFractions
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601WithFractions
        return d
    }()

    /// Appends the record `make` returns (nil: nothing to write) and applies it.
    private func write(now: Date, _ make: () throws -> Record?) throws {
        try locked {
            var written: Record?
            try replay.journal.append(catchUp: { try self.replay.apply($0, line: $1) }, sync: syncsEachChange) {
                guard let record = try make() else { return nil }
                written = record
                return try Self.encoder.encode(record)
            }
            if let written { _ = replay.apply(written) }
        }
    }

    static func ticketID(_ number: Int) -> String { String(format: "T%06d", number) }

    /// The number in `T000123`, or nil for anything else.
    static func ticketNumber(_ id: String) -> Int? {
        guard id.count == 7, id.hasPrefix("T") else { return nil }
        return Int(id.dropFirst())
    }

    /// Applies one change (any record but `open`) to its ticket; returns why it could not be.
    /// Shared by every `TicketQueue` that keeps a ticket as its opening plus its changes.
    static func change(_ t: inout Ticket, by r: Record) -> String? {
        switch r.op {
        case "message":
            if let line = r.line { t.transcript.append(line) }
            if let turn = r.turn { t.turns.append(turn) }
        case "claim":
            t.state = .claimed
            t.assignee = r.agent
            if t.claimedAt == nil { t.claimedAt = r.at }
            t.history.append(TicketHistoryEntry(time: r.at, action: "claimed", agent: r.agent, note: nil))
        case "release":
            t.state = .waiting
            t.assignee = nil
            t.history.append(TicketHistoryEntry(time: r.at, action: "released", agent: r.agent, note: nil))
        case "transfer":
            t.state = .claimed
            t.assignee = r.to
            if t.claimedAt == nil { t.claimedAt = r.at }
            t.history.append(TicketHistoryEntry(time: r.at, action: "transferred", agent: r.agent, note: "to \(r.to ?? "?")"))
        case "note":
            t.history.append(TicketHistoryEntry(time: r.at, action: "note", agent: r.agent, note: r.text))
        case "reply":
            t.transcript.append(TranscriptLine(time: r.at, from: "agent:\(r.agent ?? "?")", text: r.text ?? ""))
        case "resolve":
            t.state = .resolved
            t.resolvedAt = r.at
            t.history.append(TicketHistoryEntry(time: r.at, action: "resolved", agent: r.agent, note: r.text))
        case "withdraw":
            t.state = .resolved
            t.resolvedAt = r.at
            t.history.append(TicketHistoryEntry(time: r.at, action: "withdrawn", agent: nil, note: "by the customer"))
        case "escalate":
            t.priority = max(t.priority, r.score ?? t.priority)
            if let raised = r.text.flatMap(HandoffReason.init(rawValue:)), raised.severity > t.reason.severity { t.reason = raised }
            t.history.append(TicketHistoryEntry(time: r.at, action: "escalated", agent: nil, note: r.text))
        case "delivered":
            t.deliveredReplies = max(t.deliveredReplies, r.count ?? 0)
        case "rating":
            t.rating = r.score
            t.history.append(TicketHistoryEntry(time: r.at, action: "rated", agent: nil, note: r.score.map(String.init)))
        default:
            return "unknown change '\(r.op)'"
        }
        return nil
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        replay.lock.lock()
        defer { replay.lock.unlock() }
        return try body()
    }
}
