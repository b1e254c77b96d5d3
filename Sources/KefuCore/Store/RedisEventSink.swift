import Foundation

/// Service events in a Redis stream (`kefu:events`), shared by every gateway instance:
/// `XADD kefu:events MAXLEN ~ 1000000 * e <event JSON>`, the same masked JSON the journal
/// keeps. `kefu stats` and `kefu report` read it back with `XRANGE`, a page at a time.
///
/// `record` adds one event and returns once Redis acknowledged it; the gateway puts a
/// `GroupCommitSink` in front, and its committer sends each batch as one pipeline (one round
/// trip). The stream keeps about the last `maxLength` events (Redis trims whole nodes, so a
/// few more); older ones are gone, as a rotated log would be.
public final class RedisEventSink: EventSink, @unchecked Sendable {
    public let client: RedisClient
    public let key: String
    public let maxLength: Int
    /// Events per `XRANGE` when reading back.
    static let page = 1000

    public var notices: [Journal.Notice] { [] }

    public init(client: RedisClient, prefix: String = "kefu:", maxLength: Int = 1_000_000) {
        self.client = client
        key = prefix + "events"
        self.maxLength = maxLength
    }

    private func add(_ payload: Data) -> [RedisArgument] {
        ["XADD", RedisArgument(key), "MAXLEN", "~", RedisArgument(maxLength), "*", "e", RedisArgument(bytes: Array(payload))]
    }

    public func record(_ event: ServiceEvent) throws {
        _ = try client.command(add(event.maskedPayload()))
    }

    public func takePending() -> [Data] { [] }

    /// The batch in one pipeline; the first error reply is thrown (the others may have been added).
    public func write(_ batch: [Data]) throws {
        guard !batch.isEmpty else { return }
        for reply in try client.pipeline(batch.map(add)) { _ = try reply.checked() }
    }

    public func readAll() throws -> (events: [ServiceEvent], notices: [Journal.Notice]) {
        var events: [ServiceEvent] = []
        var notices: [Journal.Notice] = []
        var start = "-"
        while true {
            let reply = try client.command("XRANGE", key, start, "+", "COUNT", Self.page)
            let entries = reply.array ?? []
            for entry in entries {
                guard let parts = entry.array, parts.count == 2, let id = parts[0].string else { continue }
                start = "(" + id
                let fields = parts[1].array ?? []
                let payload = stride(from: 0, to: fields.count - 1, by: 2).first { fields[$0].string == "e" }.flatMap { fields[$0 + 1].bytes }
                if let payload, let event = ServiceEvent.decodeStored(Data(payload)) {
                    events.append(event)
                } else {
                    notices.append(Journal.Notice(path: "redis \(key)", line: 0, message: "entry \(id) is not a readable event; skipped"))
                }
            }
            if entries.count < Self.page { break }
        }
        return (events, notices)
    }
}
