import Foundation

/// Where service events go, and where `kefu stats` and `kefu report` read them back.
///
/// Implementations: `EventLog` (the journal `events.log` in a data folder, the default),
/// a Redis stream shared by several gateways (Store/), and
/// `GroupCommitSink`, which the gateway puts in front of either so that its committer
/// thread writes each batch of events at once.
public protocol EventSink: AnyObject, Sendable {
    /// What reading the backing store turned up (damaged records), for stderr.
    var notices: [Journal.Notice] { get }
    /// Writes the event, masking any text; returns once it is durable (or, for
    /// `GroupCommitSink`, queued for `takePending`).
    func record(_ event: ServiceEvent) throws
    /// The events `record` queued, handed over for `write` elsewhere; empty for a sink that
    /// writes at once.
    func takePending() -> [Data]
    /// Writes events taken with `takePending` (or gap records), all at once, durably.
    func write(_ batch: [Data]) throws
    /// Every event, oldest first, and what was wrong with the store (for `kefu stats`, `kefu report`).
    func readAll() throws -> (events: [ServiceEvent], notices: [Journal.Notice])
}

extension ServiceEvent {
    /// The bytes a sink stores: text and customer masked, one JSON object.
    func maskedPayload() -> Data {
        var event = self
        event.text = event.text.map(PrivacyMask.mask)
        event.customer = event.customer.map(PrivacyMask.mask)
        return Data(event.jsonBytes())
    }

    /// An event as a sink stored it, or nil when the bytes are not one.
    static func decodeStored(_ payload: Data) -> ServiceEvent? {
        try? storedDecoder.decode(ServiceEvent.self, from: payload)
    }

    private static let storedDecoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601WithFractions
        return d
    }()
}

/// Group commit in front of a sink: `record` only queues the event (masked); the gateway's
/// engine takes the queue with `takePending` and its committer thread writes each batch with
/// one sync (or one round trip) before any reply of the batch is sent. Chosen where the
/// engine is built (the gateway), so no sink has a hidden mode.
public final class GroupCommitSink: EventSink, @unchecked Sendable {
    public let base: any EventSink
    private var pending: [Data] = []
    private let lock = NSLock()

    public init(_ base: any EventSink) {
        self.base = base
    }

    public var notices: [Journal.Notice] { base.notices }

    public func record(_ event: ServiceEvent) throws {
        let payload = event.maskedPayload()
        lock.withLock { pending.append(payload) }
    }

    public func takePending() -> [Data] {
        lock.withLock { () -> [Data] in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }

    public func write(_ batch: [Data]) throws { try base.write(batch) }

    public func readAll() throws -> (events: [ServiceEvent], notices: [Journal.Notice]) { try base.readAll() }
}
