import Foundation

/// The handoff queue as the dialogue, the gateway's engine and the agent desk use it: every
/// ticket and everything done to it, shared by every process (or instance) that serves the
/// same customers.
///
/// Two implementations: `TicketStore` (the journal `tickets.log` in a data folder, the
/// default) and one on Redis for several gateways (Store/). The promises are
/// the same and `TicketQueueContractTests` checks them against both:
/// - a change that returns has been made durable (synced to disk, or acknowledged by a Redis
///   that writes `appendfsync always`); a caller may tell the customer a ticket number then
///   (on a `groupCommitted()` queue: once `syncPending()` returned);
///   one that throws may or may not have happened, and nothing may be told;
/// - ids are `T` + six digits, never reused, in the order tickets were opened;
/// - a claim is won by exactly one agent, whichever process or instance each works in;
/// - reads see every change acknowledged before them (after `refresh()` for the journal,
///   which other processes append to).
///
/// Reads throw too: a queue on a server can fail to answer. The journal's never do.
public protocol TicketQueue: AnyObject, Sendable {
    /// What reading the backing store turned up (damaged records), for stderr.
    var notices: [Journal.Notice] { get }

    // MARK: Reading

    /// Catches up with what other processes wrote since the last look.
    func refresh() throws
    func ticket(_ id: String) throws -> Ticket?
    /// Every ticket, oldest first.
    func all() throws -> [Ticket]
    /// The customer's ticket that is not resolved yet, if any.
    func openTicket(customer: String) throws -> Ticket?
    /// The customer's most recent ticket, open or not.
    func latestTicket(customer: String) throws -> Ticket?
    /// The ticket whose customer was given this resume code, while the code still works: the
    /// ticket is open, or a person resolved it within `Ticket.followUpWindow`.
    func resumable(codeHash: String, now: Date) throws -> Ticket?
    /// Waiting and claimed tickets, most urgent first: priority, then arrival.
    func queue() throws -> [Ticket]
    /// 1 for the next ticket an agent will take; 0 when the ticket is not waiting.
    func position(of id: String) throws -> Int
    /// Median wait from creation to first claim over the last 20 claimed tickets.
    func typicalWait() throws -> TimeInterval

    // MARK: Changing (each durable when it returns)

    func open(_ draft: TicketDraft, now: Date) throws -> Ticket
    func addCustomerMessage(_ id: String, line: TranscriptLine, turn: TurnRecord?, now: Date) throws
    func addBotLine(_ id: String, text: String, now: Date) throws
    /// Takes a ticket; claiming one's own again is harmless, one another agent holds throws.
    @discardableResult func claim(_ id: String, agent: String, now: Date) throws -> Ticket
    /// Claims the most urgent waiting ticket, or returns nil when none waits.
    func claimNext(agent: String, now: Date) throws -> Ticket?
    /// Puts a claimed ticket back: by its holder, or a supervisor. Returns who held it.
    @discardableResult func release(_ id: String, agent: String, supervisor: Bool, now: Date) throws -> String
    /// Hands a ticket to `other`: a waiting one by anyone, a claimed one by its holder or a
    /// supervisor. Returns who held it before, if anyone.
    @discardableResult func transfer(_ id: String, from agent: String, to other: String, supervisor: Bool, now: Date) throws -> String?
    func note(_ id: String, agent: String, text: String, now: Date) throws
    /// An agent's reply, by the agent holding the ticket.
    func reply(_ id: String, agent: String, text: String, now: Date) throws
    func resolve(_ id: String, agent: String, note: String?, now: Date) throws
    /// The customer withdrew a waiting ticket; a claimed one throws.
    func withdraw(_ id: String, now: Date) throws
    /// Raises the ticket to `reason`'s priority and severity; nothing when it is already as urgent.
    func escalate(_ id: String, reason: HandoffReason, now: Date) throws
    /// The customer has now seen the first `count` agent replies.
    func markDelivered(_ id: String, count: Int, now: Date) throws
    func rate(_ id: String, score: Int, now: Date) throws

    // MARK: Group commit

    /// The same queue for the gateway's group commit: changes return before they are
    /// durable, and `syncPending()` makes every one of them durable at once. The gateway calls
    /// it once per batch, before any reply of the batch goes out, so a ticket number is still
    /// told only once it is durable. A queue whose changes are acknowledged by a server
    /// (Redis) returns itself.
    func groupCommitted() -> any TicketQueue
    /// Makes every change returned so far durable; nothing for a queue whose changes are
    /// durable when they return.
    func syncPending() throws
}

extension TicketQueue {
    /// As an agent (not a supervisor).
    @discardableResult
    public func release(_ id: String, agent: String, now: Date) throws -> String {
        try release(id, agent: agent, supervisor: false, now: now)
    }

    /// As an agent (not a supervisor).
    @discardableResult
    public func transfer(_ id: String, from agent: String, to other: String, now: Date) throws -> String? {
        try transfer(id, from: agent, to: other, supervisor: false, now: now)
    }
}
