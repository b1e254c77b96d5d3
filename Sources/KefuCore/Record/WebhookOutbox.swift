import Foundation

/// Something an outside system is told about through a webhook (`kefu serve --webhook`).
public struct WebhookEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case handoff
        case agentJoined = "agent_joined"
        case agentReply = "agent_reply"
        case resolved
        case rating
    }

    public var kind: Kind
    public var time: Date
    public var ticket: String
    public var conversation: String?
    public var customer: String?
    public var channel: String?
    public var reason: String?
    public var priority: Int?
    public var agent: String?
    /// The ticket's summary (handoff) or the agent's reply (agent_reply); masked when sent.
    public var text: String?
    public var rating: Int?

    public init(kind: Kind, time: Date, ticket: String) {
        self.kind = kind
        self.time = time
        self.ticket = ticket
    }

    /// The event about `t`, with the ticket's own fields.
    public init(_ kind: Kind, ticket t: Ticket, time: Date, agent: String? = nil, text: String? = nil, rating: Int? = nil) {
        self.init(kind: kind, time: time, ticket: t.id)
        conversation = t.conversation
        customer = t.customer
        channel = t.channel
        reason = t.reason.rawValue
        priority = t.priority
        self.agent = agent
        self.text = text
        self.rating = rating
    }

    /// The JSON body of delivery `id`. The receiver is not the agent holding the case, so the
    /// customer's key and any text go out with their numbers masked (`PrivacyMask`).
    func body(id: String) -> [UInt8] {
        var w = JSONObjectWriter()
        w.add("id", id)
        w.add("event", kind.rawValue)
        w.add("time", Timestamp.format(time))
        w.add("ticket", ticket)
        w.add("conversation", conversation)
        w.add("customer", customer.map(PrivacyMask.mask))
        w.add("channel", channel)
        w.add("reason", reason)
        if let priority { w.addLiteral("priority", String(priority)) }
        w.add("agent", agent)
        w.add("text", text.map(PrivacyMask.mask))
        if let rating { w.addLiteral("rating", String(rating)) }
        return w.finish()
    }
}

/// The durable queue of webhook deliveries in the data folder (`webhooks.journal`): one
/// delivery per URL per event, kept until its receiver acknowledges it, across restarts.
///
/// A `Journal` of two kinds of record: `{"op":"deliver","id","url","event","body"}` when an
/// event is queued (the body exactly as it will be sent, every attempt), `{"op":"done","id"}`
/// when its receiver answered 2xx. Replaying the file at start gives the deliveries not yet
/// done, in order; a damaged record is skipped and reported (`notices`), like in every journal.
///
/// In the gateway the engine `enqueue`s while it answers, takes the batch's deliveries with
/// `takePending` together with the batch's events, and the committer `write`s them with one
/// sync before the batch's replies go out: a handoff the customer was told about has its
/// webhook on disk. Only then does the sender see them (`next`).
///
/// The file is rewritten (a new file, synced, renamed over the old one) when the acknowledged
/// records in it reach `compactionBytes` and outweigh the waiting ones: when everything is
/// acknowledged it becomes empty, and a receiver that stays down cannot make it grow for ever
/// with what the others acknowledged.
public final class WebhookOutbox: @unchecked Sendable {
    public static let fileName = "webhooks.journal"

    /// One POST to one URL, until acknowledged.
    public struct Delivery: Sendable, Equatable {
        public let id: String
        public let url: String
        public let event: String
        /// The request body, the same on every attempt.
        public let body: [UInt8]
        /// The `deliver` record's payload, written again as is when the file is compacted.
        let record: Data
        /// What the record takes in the file now; 0 while it is not in the file.
        var storedBytes = 0
    }

    public let path: String
    /// The URLs events are delivered to; deliveries found in the file for other URLs (no longer
    /// given) are kept, not sent, until a server is started with their URL again.
    public let urls: [String]
    /// What replaying the file turned up (damaged records, skipped).
    public private(set) var notices: [Journal.Notice] = []
    /// Acknowledged bytes in the file that trigger a rewrite (once they outweigh the rest).
    let compactionBytes: Int

    /// Guards the journal and the byte counts; taken before `state` when both are needed,
    /// so the engine (which takes only `state`) never waits for a disk write.
    private let fileLock = NSLock()
    private var journal: Journal
    private var fileBytes = 0
    /// Everything below is guarded by `state`; it is signalled when deliveries become
    /// visible or the outbox closes.
    private let state = NSCondition()
    private var queues: [String: [Delivery]] = [:]
    private var pending: [Delivery] = []
    private var failing: Set<String> = []
    private var closed = false

    /// Opens (or creates) the outbox of a data folder and replays it.
    public init(folder: String, urls: [String], compactionBytes: Int = 64 * 1024) throws {
        try POSIX.makeDirectory(folder)
        path = (folder as NSString).appendingPathComponent(Self.fileName)
        var unique: [String] = []
        for url in urls where !unique.contains(url) { unique.append(url) }
        self.urls = unique
        self.compactionBytes = compactionBytes
        journal = try Journal(path: path)
        var found: [Delivery] = []
        var done = Set<String>()
        let decoder = JSONDecoder()
        let journal = journal
        try journal.catchUp { payload, line in
            guard let entry = try? decoder.decode(Entry.self, from: payload) else {
                journal.report(line: line, "record has a valid checksum but is not a readable outbox record; skipped")
                return
            }
            switch entry.op {
            case "deliver":
                guard let url = entry.url, let event = entry.event, let body = entry.body else {
                    journal.report(line: line, "delivery record without url, event or body; skipped")
                    return
                }
                found.append(Delivery(id: entry.id, url: url, event: event, body: Array(body.utf8), record: payload,
                                      storedBytes: Self.framedSize(payload)))
            case "done":
                done.insert(entry.id)
            default:
                journal.report(line: line, "unknown outbox record '\(entry.op.prefix(20))'; skipped")
            }
        }
        notices = journal.notices
        fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        for delivery in found where !done.contains(delivery.id) { queues[delivery.url, default: []].append(delivery) }
    }

    // MARK: The engine's side

    /// Queues one delivery of `event` per URL; they are written with the next batch.
    public func enqueue(_ event: WebhookEvent) {
        guard !urls.isEmpty else { return }
        let deliveries = urls.map { url -> Delivery in
            let id = "d_" + SecureRandom.hex(bytes: 12)
            let body = event.body(id: id)
            var w = JSONObjectWriter()
            w.add("body", String(decoding: body, as: UTF8.self))
            w.add("event", event.kind.rawValue)
            w.add("id", id)
            w.add("op", "deliver")
            w.add("url", url)
            return Delivery(id: id, url: url, event: event.kind.rawValue, body: body, record: Data(w.finish()))
        }
        state.withLock { pending.append(contentsOf: deliveries) }
    }

    /// The deliveries queued since the last call, for the committer to `write`.
    public func takePending() -> [Delivery] {
        state.withLock {
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }

    /// Writes a batch with one write and one sync, then hands it to the sender. When the
    /// file cannot take it, the deliveries are still sent (from memory) and the error is thrown.
    public func write(_ batch: [Delivery]) throws {
        guard !batch.isEmpty else { return }
        try fileLock.withLock {
            var failure: Error?
            var batch = batch
            do {
                try journal.appendBatch(batch.map(\.record))
                for i in batch.indices { batch[i].storedBytes = Self.framedSize(batch[i].record) }
                fileBytes += batch.reduce(0) { $0 + $1.storedBytes }
            } catch {
                failure = error
            }
            state.withLock {
                for delivery in batch { queues[delivery.url, default: []].append(delivery) }
                state.broadcast()
            }
            if let failure { throw failure }
        }
    }

    /// Queues and writes at once: what `kefu serve`'s committer does, for callers without one.
    public func commit() throws { try write(takePending()) }

    // MARK: The sender's side

    /// The oldest delivery to `url` not yet acknowledged, waiting until there is one; nil once
    /// the outbox is closed.
    public func next(for url: String) -> Delivery? {
        state.withLock {
            while !closed {
                if let first = queues[url]?.first { return first }
                state.wait()
            }
            return nil
        }
    }

    /// Waits until `deadline` (a retry's back-off); false when the outbox closed meanwhile.
    public func pause(until deadline: Date) -> Bool {
        state.withLock {
            while !closed && Date() < deadline { _ = state.wait(until: deadline) }
            return !closed
        }
    }

    /// The receiver answered 2xx: the delivery is done, and recorded as done (synced). It
    /// leaves the queue even when the record cannot be written (then it is thrown: after a
    /// restart the delivery would be sent again, which its id lets the receiver notice).
    public func acknowledge(_ delivery: Delivery) throws {
        try fileLock.withLock {
            var removed: Delivery?
            state.withLock {
                if let i = queues[delivery.url]?.firstIndex(where: { $0.id == delivery.id }) {
                    removed = queues[delivery.url]?.remove(at: i)
                    if queues[delivery.url]?.isEmpty == true { queues[delivery.url] = nil }
                }
            }
            guard removed != nil else { return }
            var w = JSONObjectWriter()
            w.add("id", delivery.id)
            w.add("op", "done")
            let record = Data(w.finish())
            try journal.append(catchUp: { _, _ in }, prepare: { record })
            fileBytes += Self.framedSize(record)
            try compactIfWorthIt()
        }
    }

    /// Stops the sender: `next` and `pause` return at once from now on.
    public func stopSending() {
        state.withLock {
            closed = true
            state.broadcast()
        }
    }

    public var isClosed: Bool { state.withLock { closed } }

    /// Whether the last attempt to `url` failed (for `STATS`).
    public func setFailing(_ url: String, _ isFailing: Bool) {
        state.withLock {
            if isFailing { failing.insert(url) } else { failing.remove(url) }
        }
    }

    /// Deliveries not yet acknowledged, including those waiting for the next sync.
    public var pendingCount: Int { state.withLock { queues.values.reduce(pending.count) { $0 + $1.count } } }

    /// How many URLs are failing now (their last attempt got no 2xx).
    public var failingCount: Int { state.withLock { failing.count } }

    /// Deliveries not yet acknowledged for each URL, oldest first (written ones only).
    public func waiting() -> [String: [Delivery]] { state.withLock { queues } }

    // MARK: The file

    /// Rewrites the file with only the deliveries still waiting, when the acknowledged
    /// records reach `compactionBytes` and outweigh them. Called with `fileLock` held.
    private func compactIfWorthIt() throws {
        let live = state.withLock { queues.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.storedBytes } } }
        let dead = fileBytes - live
        guard dead > 0, dead >= compactionBytes, dead >= live else { return }
        let kept = state.withLock { queues }
        var bytes: [UInt8] = []
        for url in kept.keys.sorted() {
            for delivery in kept[url]! {
                bytes.append(contentsOf: Journal.checksumPrefix(delivery.record))
                bytes.append(contentsOf: delivery.record)
                bytes.append(0x0A)
            }
        }
        try POSIX.replaceAtomically(path, with: bytes)
        let reopened = try Journal(path: path)
        try reopened.catchUp { _, _ in }
        journal = reopened
        fileBytes = bytes.count
        state.withLock {
            for url in queues.keys {
                for i in queues[url]!.indices { queues[url]![i].storedBytes = Self.framedSize(queues[url]![i].record) }
            }
        }
    }

    /// The bytes a record takes in a journal: checksum, space, payload, newline.
    static func framedSize(_ payload: Data) -> Int { 9 + payload.count + 1 }

    private struct Entry: Decodable {
        let op: String
        let id: String
        let url: String?
        let event: String?
        let body: String?
    }
}
