import Foundation

/// One thing that happened, for metrics: a message and its route, a handoff, an agent
/// action, a rating. Text is stored masked; the log is for counting, not for reading chats.
public struct ServiceEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case conversationStart = "conversation_start"
        case message
        case handoff
        case agentAction = "agent_action"
        case rating
        case conversationEnd = "conversation_end"
        /// Not an event but the lack of them: `count` events between `time` and `until` could
        /// not be written (a full or read-only disk), so figures for that period are incomplete.
        case unrecorded
    }
    public var kind: Kind
    public var time: Date
    public var conversation: String?
    public var customer: String?
    public var channel: String?
    public var text: String?
    public var route: StoredCode<Route>?
    public var topic: String?
    public var entry: String?
    public var confidence: Double?
    public var emotionScore: Double?
    public var emotionLevel: StoredCode<EmotionLevel>?
    public var reason: EventReason?
    public var ticket: String?
    public var agent: String?
    public var action: EventAction?
    public var score: Int?
    /// For `conversation_end`: whether a person took part.
    public var handedOff: Bool?
    /// For `unrecorded`: how many events were lost, and until when (from `time`).
    public var count: Int?
    public var until: Date?

    public init(kind: Kind, time: Date) {
        self.kind = kind
        self.time = time
    }
}

/// A code stored in the logs as its plain string, with room for strings this version does not
/// know (an older or newer log): read, kept and written back as they came.
public protocol OpenCode: Codable, CustomStringConvertible {
    init(rawValue: String)
    var rawValue: String { get }
}

extension OpenCode {
    public var description: String { rawValue }

    public init(from decoder: Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// A value of one of this version's enums (`Route`, `EmotionLevel`) as an event stores it: a
/// string this version does not know (a newer log) is kept as `unknown` and written back as
/// is, so the event still counts instead of failing to read.
public enum StoredCode<Known>: Sendable, Hashable, OpenCode
where Known: RawRepresentable & Sendable & Hashable, Known.RawValue == String {
    case known(Known)
    case unknown(String)

    public init(_ value: Known) { self = .known(value) }

    public init(rawValue: String) {
        self = Known(rawValue: rawValue).map(StoredCode.known) ?? .unknown(rawValue)
    }

    public var rawValue: String {
        switch self {
        case .known(let value): value.rawValue
        case .unknown(let s): s
        }
    }

    /// The value, when this version knows it.
    public var value: Known? {
        if case .known(let value) = self { return value }
        return nil
    }
}

/// Why a handoff happened or a conversation ended, as `ServiceEvent.reason`. Stored as the
/// same plain string as before (a handoff reason's code, `idle`, `withdrawn`); a string this
/// version does not know (an older or newer log) is kept as `other` and written back as is.
public enum EventReason: Sendable, Hashable, OpenCode {
    case handoff(HandoffReason)
    /// A conversation closed after the customer was idle.
    case idle
    /// The customer withdrew a waiting request.
    case withdrawn
    case other(String)

    public init(rawValue: String) {
        switch rawValue {
        case "idle": self = .idle
        case "withdrawn": self = .withdrawn
        default: self = HandoffReason(rawValue: rawValue).map(EventReason.handoff) ?? .other(rawValue)
        }
    }

    public var rawValue: String {
        switch self {
        case .handoff(let r): r.rawValue
        case .idle: "idle"
        case .withdrawn: "withdrawn"
        case .other(let s): s
        }
    }
}

/// What an agent (or the customer, withdrawing) did to a ticket, as `ServiceEvent.action`:
/// the agent desk's actions plus `withdrawn`. Stored as the same plain string as before; a
/// string this version does not know is kept as `other` and written back as is.
public enum EventAction: Sendable, Hashable, OpenCode {
    case claim, next, reply, note, transfer, release, resolve
    /// The customer withdrew a waiting request.
    case withdrawn
    case other(String)

    private static let known: [EventAction] = [.claim, .next, .reply, .note, .transfer, .release, .resolve, .withdrawn]

    public init(rawValue: String) {
        self = Self.known.first { $0.rawValue == rawValue } ?? .other(rawValue)
    }

    public var rawValue: String {
        switch self {
        case .claim: "claim"
        case .next: "next"
        case .reply: "reply"
        case .note: "note"
        case .transfer: "transfer"
        case .release: "release"
        case .resolve: "resolve"
        case .withdrawn: "withdrawn"
        case .other(let s): s
        }
    }
}

extension ServiceEvent {
    /// The event as one JSON object with sorted keys, written straight into one byte buffer:
    /// `JSONEncoder`, then building strings field by field, then nested functions capturing
    /// the buffer were each a large share of the gateway's engine time per message. Read back
    /// with `JSONDecoder` as usual.
    func jsonBytes() -> [UInt8] {
        var w = JSONObjectWriter()
        w.add("action", action?.rawValue)
        w.add("agent", agent)
        w.add("channel", channel)
        w.add("confidence", confidence)
        w.add("conversation", conversation)
        if let count { w.addLiteral("count", String(count)) }
        w.add("customer", customer)
        w.add("emotionLevel", emotionLevel?.rawValue)
        w.add("emotionScore", emotionScore)
        w.add("entry", entry)
        if let handedOff { w.addLiteral("handedOff", handedOff ? "true" : "false") }
        w.add("kind", kind.rawValue)
        w.add("reason", reason?.rawValue)
        w.add("route", route?.rawValue)
        if let score { w.addLiteral("score", String(score)) }
        w.add("text", text)
        w.add("ticket", ticket)
        w.add("time", Timestamp.format(time))
        w.add("topic", topic)
        w.add("until", until.map(Timestamp.format))
        return w.finish()
    }

    func jsonLine() -> String { String(decoding: jsonBytes(), as: UTF8.self) }
}

/// The append-only event log in the data folder (`events.log`), one journal record per event.
/// `record` syncs every event (`kefu chat`, `kefu agent`); the gateway puts a
/// `GroupCommitSink` in front of it and writes batches.
public final class EventLog: EventSink, @unchecked Sendable {
    private let journal: Journal
    public let folder: String

    public var notices: [Journal.Notice] { journal.notices }

    /// - Parameter readOnly: only to read; an empty log stands in for a missing file.
    public init(folder: String, readOnly: Bool = false) throws {
        self.folder = folder
        let path = (folder as NSString).appendingPathComponent("events.log")
        if !readOnly { try POSIX.makeDirectory(folder) }
        journal = try Journal(path: readOnly && !FileManager.default.fileExists(atPath: path) ? "/dev/null" : path, readOnly: readOnly)
        try journal.catchUp { _, _ in }
    }

    /// Writes the event, masking any text, and returns once it is synced.
    public func record(_ event: ServiceEvent) throws {
        let payload = event.maskedPayload()
        try journal.append(catchUp: { _, _ in }, prepare: { payload })
    }

    /// Nothing is ever queued here: `record` writes at once.
    public func takePending() -> [Data] { [] }

    /// Writes a batch of events (from a `GroupCommitSink`) in one write and one sync.
    public func write(_ batch: [Data]) throws {
        if let fault = writeFault { try fault() }
        try journal.appendBatch(batch)
    }

    public func readAll() throws -> (events: [ServiceEvent], notices: [Journal.Notice]) {
        try Self.read(folder: folder)
    }

    /// Tests make writes fail through this, where no small disk can be mounted to fill.
    var writeFault: (() throws -> Void)?

    /// The record of a gap, for `write` once the disk takes writes again.
    public static func gapRecord(count: Int, from: Date, until: Date) -> Data {
        var event = ServiceEvent(kind: .unrecorded, time: from)
        event.count = count
        event.until = until
        return Data(event.jsonBytes())
    }

    /// Where a gap goes when even the event log cannot take its record at shutdown: a small
    /// file beside it, one JSON object per line, read back with the log.
    public static func gapsPath(folder: String) -> String { (folder as NSString).appendingPathComponent("events.gaps") }

    /// Every event in a data folder's log, oldest first, and what was wrong with the file.
    public static func read(folder: String) throws -> (events: [ServiceEvent], notices: [Journal.Notice]) {
        let path = (folder as NSString).appendingPathComponent("events.log")
        guard FileManager.default.fileExists(atPath: path) else { return ([], []) }
        let journal = try Journal(path: path, readOnly: true)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601WithFractions
        var events: [ServiceEvent] = []
        try journal.catchUp { payload, line in
            if let e = try? decoder.decode(ServiceEvent.self, from: payload) { events.append(e) }
            else { journal.report(line: line, "record has a valid checksum but is not a readable event; skipped") }
        }
        if let gaps = FileManager.default.contents(atPath: gapsPath(folder: folder)) {
            for line in gaps.split(separator: 0x0A) {
                if let e = try? decoder.decode(ServiceEvent.self, from: Data(line)) { events.append(e) }
            }
            events.sort { $0.time < $1.time }
        }
        return (events, journal.notices)
    }
}
