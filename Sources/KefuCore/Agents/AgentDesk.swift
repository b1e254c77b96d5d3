import Foundation

/// Everything an agent does to a ticket, in one place for every channel: the agent port of
/// `kefu serve`, `kefu agent` on a data folder, the regression runner.
///
/// Each action changes the ticket through the `TicketQueue` and records one `agent_action` event
/// with the same fields, whichever channel it came through: before, the server and the
/// command line each kept their own log of agent work, and `kefu report` told a different
/// history depending on where an agent had worked. The desk returns what happened, typed;
/// what the agent reads, and whom else a channel tells, is each channel's own wording.
public struct AgentDesk: Sendable {
    /// The actions that change a ticket, each recorded as an event with its name as `action`
    /// (also the verbs of `kefu agent`, in this order).
    public enum Action: String, Sendable, CaseIterable {
        case claim, next, reply, note, transfer, release, resolve
    }

    public let desk: ServiceDesk
    /// Who acts: tickets belong to names, whatever connection or terminal they use.
    public let agent: String
    /// What the agent may do to tickets other agents hold (a supervisor moves them).
    public let role: AgentRole

    public init(desk: ServiceDesk, agent: String, role: AgentRole) {
        self.desk = desk
        self.agent = agent
        self.role = role
    }

    /// The role `agent` has in the accounts file of a data folder; `.agent` when the file does
    /// not name them or cannot be read. Working on the folder directly, the role is looked
    /// up, not proven: whoever may write the folder may act as anyone.
    public static func role(of agent: String, inDataFolder folder: String) -> AgentRole {
        (try? AccountsFile.read(path: AccountsFile.path(inDataFolder: folder)))?.account(named: agent)?.role ?? .agent
    }

    // MARK: Looking (changes nothing, records nothing)

    /// Waiting and claimed tickets, most urgent first, including what other processes wrote.
    public func list() throws -> [Ticket] {
        try desk.tickets.refresh()
        return try desk.tickets.queue()
    }

    /// The ticket as it stands now, or nil when there is none by that id (each channel says
    /// so in its own words).
    public func show(_ id: String) throws -> Ticket? {
        try desk.tickets.refresh()
        return try desk.tickets.ticket(id)
    }

    /// Whether this agent may read the customer's numbers in `ticket` unmasked: only the
    /// agent holding it needs them.
    public func seesUnmasked(_ ticket: Ticket) -> Bool { ticket.assignee == agent }

    // MARK: Acting (each changes the ticket, then records the event)

    /// Takes a waiting ticket (claiming one's own again is harmless).
    @discardableResult
    public func claim(_ id: String, now: Date) throws -> Ticket {
        try recorded(.claim, desk.tickets.claim(id, agent: agent, now: now), now: now)
    }

    /// Takes the most urgent waiting ticket; nil (and nothing recorded) when none waits.
    public func next(now: Date) throws -> Ticket? {
        guard let t = try desk.tickets.claimNext(agent: agent, now: now) else { return nil }
        return try recorded(.next, t, now: now)
    }

    /// Answers the customer of a ticket this agent holds. The reply is in the ticket; whether
    /// the customer sees it now is the channel's business (`TicketStore.markDelivered`).
    @discardableResult
    public func reply(_ id: String, text: String, now: Date) throws -> Ticket {
        try desk.tickets.reply(id, agent: agent, text: text, now: now)
        return try recorded(.reply, id, now: now)
    }

    /// An internal note, never shown to the customer.
    @discardableResult
    public func note(_ id: String, text: String, now: Date) throws -> Ticket {
        try desk.tickets.note(id, agent: agent, text: text, now: now)
        return try recorded(.note, id, now: now)
    }

    /// Hands a ticket to `other`: a waiting one by anyone, a held one by its holder or a supervisor.
    @discardableResult
    public func transfer(_ id: String, to other: String, now: Date) throws -> Handover {
        let holder = try desk.tickets.transfer(id, from: agent, to: other, supervisor: role == .supervisor, now: now)
        return Handover(ticket: try recorded(.transfer, id, now: now), previousHolder: holder, by: agent)
    }

    /// Puts a held ticket back in the queue: by its holder, or a supervisor.
    @discardableResult
    public func release(_ id: String, now: Date) throws -> Handover {
        let holder = try desk.tickets.release(id, agent: agent, supervisor: role == .supervisor, now: now)
        return Handover(ticket: try recorded(.release, id, now: now), previousHolder: holder, by: agent)
    }

    /// Closes the case; the bot takes the customer back and asks for a rating.
    @discardableResult
    public func resolve(_ id: String, note: String?, now: Date) throws -> Ticket {
        try desk.tickets.resolve(id, agent: agent, note: note, now: now)
        return try recorded(.resolve, id, now: now)
    }

    /// A ticket that changed hands (transfer, release), and the agent it was taken from.
    public struct Handover: Sendable, Equatable {
        /// The ticket after the change.
        public let ticket: Ticket
        /// Who held it just before, as the journal had it under its lock.
        public let previousHolder: String?
        /// The previous holder when someone else took the ticket from them (a supervisor
        /// moving a colleague's case): nobody else will tell them. Nil when they acted
        /// themselves or the ticket went to them.
        public let holderToTell: String?

        init(ticket: Ticket, previousHolder: String?, by agent: String) {
            self.ticket = ticket
            self.previousHolder = previousHolder
            holderToTell = previousHolder.flatMap { $0 == agent || $0 == ticket.assignee ? nil : $0 }
        }
    }

    // MARK: The event

    private func recorded(_ action: Action, _ id: String, now: Date) throws -> Ticket {
        // The change was just written and applied: the ticket is there.
        guard let t = try desk.tickets.ticket(id) else { throw TicketError.unknown(id) }
        return try recorded(action, t, now: now)
    }

    private func recorded(_ action: Action, _ t: Ticket, now: Date) throws -> Ticket {
        var event = ServiceEvent(kind: .agentAction, time: now)
        event.action = EventAction(action)
        event.agent = agent
        event.ticket = t.id
        event.conversation = t.conversation
        event.customer = t.customer
        event.reason = .handoff(t.reason)
        do {
            try desk.events.record(event)
        } catch {
            throw UnrecordedAgentAction(action: action, ticket: t.id, folder: desk.folder, cause: "\(error)")
        }
        return t
    }
}

/// An agent action that was done (the ticket changed and is on disk) but whose event could
/// not be written, so `kefu report` will not count it. Only where events are written at once
/// (`kefu agent` on a data folder); the gateway's committer handles its own write failures.
public struct UnrecordedAgentAction: Error, CustomStringConvertible, Equatable {
    public let action: AgentDesk.Action
    public let ticket: String
    public let folder: String
    public let cause: String

    public var description: String {
        "\(action.rawValue) on \(ticket) is done, but the event log in \(folder) could not record it (\(cause)), so kefu report will not count it; free space or make the folder writable before the next action"
    }
}

extension EventAction {
    /// The event an agent desk action is recorded as.
    public init(_ action: AgentDesk.Action) {
        switch action {
        case .claim: self = .claim
        case .next: self = .next
        case .reply: self = .reply
        case .note: self = .note
        case .transfer: self = .transfer
        case .release: self = .release
        case .resolve: self = .resolve
        }
    }
}
