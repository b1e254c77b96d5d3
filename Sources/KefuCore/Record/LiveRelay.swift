import Foundation

/// Tells every instance that shares a queue that a ticket has something new for its customer
/// (an agent's reply), so the instance holding the customer's connection delivers it live.
///
/// Only a nudge: what is delivered is read from the ticket, where the reply was recorded
/// before the announcement, so an announcement that is lost costs only the live delivery;
/// the customer still sees the reply with their next message, as on one instance. The
/// journals need none (one gateway holds every customer it serves); Redis has one (Store/).
public protocol LiveRelay: AnyObject, Sendable {
    /// Tells the other instances that `ticket` has replies its customer has not seen.
    func announce(ticket: String) throws
    /// Starts listening; `heard` runs on the relay's own thread with each announced ticket id.
    func listen(_ heard: @escaping @Sendable (String) -> Void) throws
    /// Stops listening; `heard` is not called again.
    func stop()
}
