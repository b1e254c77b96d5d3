import Foundation

/// Conversations shared by every gateway instance behind one load balancer, so a customer
/// whose connection moves to another instance (a restart, a crash, a reconnect) continues
/// where they were: the choices offered, the question awaiting a yes or no, the case with a
/// person. One machine needs none (its gateway holds every conversation it serves).
///
/// The state is bytes here (the gateway encodes the dialogue's state), with a version.
/// A message is one *turn*: `beginTurns` takes the customer's turn for this instance and
/// returns the stored state only when it is newer than the copy the instance holds;
/// `endTurns` saves the new state if nobody saved since (compare-and-set) and gives the
/// turn back. Both take many customers at once: the gateway takes the turns of a whole slice
/// of messages in one round trip and saves them in another. Two instances never step one customer at the same time, and a save that
/// comes too late (the turn expired) is refused rather than overwriting a newer state.
public protocol SharedConversations: AnyObject, Sendable {
    /// Takes the customers' turns for `owner` (an instance), for at most `SharedTurn.lease`,
    /// all at once (one round trip on Redis); one answer per customer, in order.
    /// - Parameter known: the version of the copy the caller holds of each (0: none).
    func beginTurns(_ turns: [(customer: String, known: Int64)], owner: String) throws -> [SharedTurn]
    /// Saves each state if its stored version is still `expected` and ends `owner`'s turn,
    /// all at once; each record expires `keepFor` after this save (the idle horizon). One
    /// answer per save: the new version, or nil when another instance saved first.
    func endTurns(_ saves: [(customer: String, state: [UInt8], expected: Int64)], owner: String, keepFor: TimeInterval) throws -> [Int64?]
    /// Gives back turns taken and not saved (the input was not handled after all).
    func releaseTurns(_ customers: [String], owner: String) throws
    /// The conversation ended here (idle): true when the stored version was still
    /// `expected` (the record is removed); false when another instance has carried it on
    /// since, and it is not over.
    func finish(_ customer: String, expected: Int64, owner: String) throws -> Bool
}

/// What `beginTurns` found for one customer.
public enum SharedTurn: Sendable, Equatable {
    /// Another instance is in the middle of this customer's turn: try again shortly.
    case busy
    /// Nothing is stored (a new customer, or their conversation ended idle).
    case none
    /// The stored version is the one the caller holds: its copy is current.
    case unchanged
    /// A newer state, saved by another instance.
    case stored([UInt8], version: Int64)

    /// How long a turn is held at most: an instance that dies mid-turn holds its customers
    /// back this long.
    public static let lease: TimeInterval = 5
}
