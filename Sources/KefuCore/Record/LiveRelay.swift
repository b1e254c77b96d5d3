import Foundation

/// Tells every instance that shares a queue that a ticket has news for a customer or an agent
/// connected elsewhere: an agent's reply, a new case, a person joining, a customer's message
/// to the agent holding the case, a case resolved, transferred or released.
///
/// Only a nudge: what is told is read from the ticket, where it was recorded before the
/// announcement, so an announcement that is lost costs only the live notice; the customer
/// still sees a reply with their next message, and an agent the case in `LIST`, as on one
/// instance. The journals need none (one gateway holds every connection it serves); Redis
/// has one (Store/).
public protocol LiveRelay: AnyObject, Sendable {
    func announce(_ notice: RelayNotice) throws
    /// Starts listening; `heard` runs on the relay's own thread with each notice, the
    /// listener's own announcements included (`RelayNotice.origin` tells them apart).
    func listen(_ heard: @escaping @Sendable (RelayNotice) -> Void) throws
    /// Stops listening; `heard` is not called again.
    func stop()
}

/// One announcement: what happened to which ticket, and which instance announced it (it has
/// told its own customers and agents already).
public struct RelayNotice: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// An agent replied: the customer's instance delivers what they have not seen.
        case reply
        /// A new case: every instance tells its agents (`* NEW`).
        case handoff
        /// A person claimed the case: the customer's instance tells them.
        case joined
        /// The customer wrote while a person holds the case: the agent's instance tells them (`* MESSAGE`).
        case message
        /// A person resolved the case: the customer's instance hands it back to the bot.
        case resolved
        /// The case was handed to an agent: their instance tells them (`* TRANSFERRED … from`).
        case transferred
        /// The case was taken from `agent` and handed to another: `agent`'s instance tells them
        /// (`* TRANSFERRED … to`).
        case transferredAway
        /// A supervisor put back a case `agent` held: `agent`'s instance tells them (`* RELEASED`).
        case released
    }

    public let kind: Kind
    public let ticket: String
    public let origin: String
    /// The agent the news is for, when the ticket does not say (who held it before); agent
    /// names are one word.
    public let agent: String?

    public init(_ kind: Kind, ticket: String, origin: String, agent: String? = nil) {
        self.kind = kind
        self.ticket = ticket
        self.origin = origin
        self.agent = agent
    }

    /// `kind ticket origin [agent]` on the wire.
    public var wire: String { "\(kind.rawValue) \(ticket) \(origin)" + (agent.map { " " + $0 } ?? "") }

    /// A notice from the wire; a ticket id alone is a reply (as earlier versions announced
    /// them). Nil for anything else.
    public init?(wire: String) {
        let parts = wire.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if parts.count == 1, TicketStore.ticketNumber(parts[0]) != nil {
            self.init(.reply, ticket: parts[0], origin: "")
            return
        }
        guard parts.count == 3 || parts.count == 4, let kind = Kind(rawValue: parts[0]), TicketStore.ticketNumber(parts[1]) != nil else { return nil }
        self.init(kind, ticket: parts[1], origin: parts[2], agent: parts.count == 4 ? parts[3] : nil)
    }
}
