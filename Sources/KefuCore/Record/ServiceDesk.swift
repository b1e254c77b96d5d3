import Foundation

/// The durable side of the service: the handoff queue and the events, behind their contracts
/// (`TicketQueue`, `EventSink`). By default the journals of one data folder; `kefu serve
/// --store redis://…` puts both on Redis (Store/), while the data folder keeps the accounts,
/// the secrets and the conversations spilled from memory.
public final class ServiceDesk: Sendable {
    public let folder: String
    public let tickets: any TicketQueue
    public let events: any EventSink
    /// How instances sharing the queue tell each other of replies for customers connected
    /// elsewhere; nil when one process serves everyone (the journals).
    public let relay: (any LiveRelay)?
    /// Conversations shared by the instances, so a customer continues on any of them; nil
    /// when one process serves everyone (the journals).
    public let conversations: (any SharedConversations)?

    /// The data folder when none is given: `$KEFU_DATA`, else `.kefu` in the working directory.
    public static func defaultFolder() -> String {
        if let env = ProcessInfo.processInfo.environment["KEFU_DATA"], !env.isEmpty { return env }
        return (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(".kefu")
    }

    /// The journals of a data folder (`tickets.log`, `events.log`).
    /// - Parameter readOnly: for commands that only read: nothing is created or changed, so
    /// they work on a folder or disk this process cannot write.
    public init(folder: String, readOnly: Bool = false) throws {
        self.folder = folder
        tickets = try TicketStore(folder: folder, readOnly: readOnly)
        events = try EventLog(folder: folder, readOnly: readOnly)
        relay = nil
        conversations = nil
    }

    /// Any queue and sink, with the data folder for everything else.
    public init(folder: String, tickets: any TicketQueue, events: any EventSink, relay: (any LiveRelay)? = nil,
                conversations: (any SharedConversations)? = nil) {
        self.folder = folder
        self.tickets = tickets
        self.events = events
        self.relay = relay
        self.conversations = conversations
    }

    /// The same desk for the gateway's engine: a `GroupCommitSink` in front of its events and
    /// its queue's `groupCommitted()` view, so the committer thread makes each batch's events
    /// and ticket changes durable with one sync each, before the batch's replies go out.
    public func withGroupCommit() -> ServiceDesk {
        if events is GroupCommitSink { return self }
        return ServiceDesk(folder: folder, tickets: tickets.groupCommitted(), events: GroupCommitSink(events), relay: relay,
                           conversations: conversations)
    }

    /// What reading the stores turned up (torn last records, damaged lines), for stderr.
    public var notices: [Journal.Notice] { tickets.notices + events.notices }
}
