import Foundation

/// Conversations shared by every gateway instance behind one load balancer, so a customer
/// whose connection moves to another instance (a restart, a crash, a reconnect) continues
/// where they were: the choices offered, the question awaiting a yes or no, the case with a
/// person. One machine needs none (its gateway holds every conversation it serves).
///
/// The state is bytes here (the gateway encodes the dialogue's state), with a version, in
/// three parts: the small rest of the state, rewritten on every save, and two lists that only
/// grow at their end (the transcript's lines, what the bot understood of each message), so a
/// save ships only what the message added, not the whole conversation again.
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
    func endTurns(_ saves: [SharedSave], owner: String, keepFor: TimeInterval) throws -> [Int64?]
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
    case stored(SharedState, version: Int64)

    /// How long a turn is held at most: an instance that dies mid-turn holds its customers
    /// back this long.
    public static let lease: TimeInterval = 5
}

/// A conversation as the store keeps it: the rest of the state, and the last lines of its two
/// growing lists, oldest first.
public struct SharedState: Sendable, Equatable {
    public var core: [UInt8]
    public var lines: [[UInt8]]
    public var turns: [[UInt8]]

    public init(core: [UInt8], lines: [[UInt8]] = [], turns: [[UInt8]] = []) {
        self.core = core
        self.lines = lines
        self.turns = turns
    }
}

/// One conversation to save: the new rest of the state, and what its lists gained since the
/// last save (or all of them again, `rewrite`, when they were not simply extended).
public struct SharedSave: Sendable {
    public var customer: String
    public var core: [UInt8]
    public var newLines: [[UInt8]]
    public var newTurns: [[UInt8]]
    public var rewrite: Bool
    /// How many of each list the store keeps: the last ones.
    public var keep: Int
    public var expected: Int64

    public init(customer: String, core: [UInt8], newLines: [[UInt8]], newTurns: [[UInt8]], rewrite: Bool, keep: Int, expected: Int64) {
        self.customer = customer
        self.core = core
        self.newLines = newLines
        self.newTurns = newTurns
        self.rewrite = rewrite
        self.keep = keep
        self.expected = expected
    }
}
