import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How much conversation state `kefu serve` keeps, and for how long.
public struct ConversationLimits: Sendable {
    /// Conversations held in memory; the least recently used beyond it are written to the
    /// spill folder and read back when their customer writes again.
    public var maxLive = 5_000
    /// A conversation nobody wrote to for this long ends (its `conversation_end` is recorded)
    /// and is forgotten; a case with a person is picked up again from its ticket.
    public var idleHorizon: TimeInterval = 1800
    /// Transcript lines a live conversation keeps in memory (besides the customer's first).
    public var transcriptLines = 40
    /// Sessions one JSON Lines connection may hold at once; a new one beyond it is refused
    /// with an error until one of its sessions ends.
    public var maxSessionsPerConnection = 1_000

    public init() {}
}

/// The gateway's conversations, bounded in memory: at most `maxLive` live, the least
/// recently used beyond that written to disk (one small JSON file per conversation, in a
/// folder of the data folder that belongs to this process) and restored when the customer
/// returns, and every conversation idle past the horizon ended.
///
/// Owned by the engine thread. Recency is an append-only queue of (key, tick) with stale
/// entries skipped, so touching a conversation costs O(1) and eviction walks from the front.
final class ConversationStore {
    struct Ended {
        let state: ConversationState?
        let key: String
        /// What the end event needs when the state itself is on disk and not read back.
        let conversation: String, customer: String, channel: String, handedOff: Bool, needsEnd: Bool
    }

    /// The state is boxed: a dictionary's storage is sized for its capacity (up to twice the
    /// entries), and the state inline made each entry some 300 bytes, paid for every slot.
    private struct Live {
        var box: StateBox?
        var lastUsed: Date
        var tick: UInt64
        var state: ConversationState? { box?.state }
    }

    private final class StateBox {
        let state: ConversationState
        init(_ state: ConversationState) { self.state = state }
    }

    /// What is remembered of a conversation on disk: enough to end it without reading it.
    private struct Spilled {
        let lastUsed: Date
        let conversation: String, channel: String
        let handedOff: Bool, needsEnd: Bool
    }

    let limits: ConversationLimits
    let folder: String
    private var live: [String: Live] = [:]
    private var recency: [(key: String, tick: UInt64)] = []
    private var recencyHead = 0
    private var tick: UInt64 = 0
    private var spilled: [String: Spilled] = [:]
    private var spillOrder: [(key: String, lastUsed: Date)] = []
    private var spillHead = 0
    private(set) var evictions = 0
    private(set) var restored = 0
    private(set) var endedIdle = 0
    private(set) var spillFailures = 0
    /// Failures to write the spill folder, told on stderr once a minute.
    private var spillComplaints = OncePerMinute()

    var liveCount: Int { live.count }
    var spilledCount: Int { spilled.count }

    /// - Parameter folder: this process's spill folder; emptied now and removed by `close()`.
    private let log: any DiagnosticLog

    init(limits: ConversationLimits, folder: String, log: any DiagnosticLog = StandardErrorLog()) {
        self.log = log
        self.limits = limits
        self.folder = folder
        Self.removeFolder(folder)
        try? POSIX.makeDirectory(folder)
    }

    /// The spill folder for this process in a data folder, after removing the folders of
    /// processes that no longer run (what they held could only be reached through them).
    static func spillFolder(inDataFolder data: String) -> String {
        let parent = (data as NSString).appendingPathComponent("spill")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] {
            if let pid = Int32(name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                removeFolder((parent as NSString).appendingPathComponent(name))
            }
        }
        return (parent as NSString).appendingPathComponent(String(getpid()))
    }

    /// Removes the spill folder; called at shutdown.
    func close() { Self.removeFolder(folder) }

    private static func removeFolder(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Takes the customer's conversation out (from memory or disk), so the caller changes it
    /// without copying its transcript; `put` returns it. Nil when there is none.
    func take(_ key: String, kb: KnowledgeBase) -> ConversationState? {
        if var entry = live[key], let state = entry.state {
            entry.box = nil
            live[key] = entry
            return state
        }
        guard spilled.removeValue(forKey: key) != nil else { return nil }
        let path = file(for: key)
        defer { unlink(path) }
        guard let data = FileManager.default.contents(atPath: path),
              let snapshot = try? JSONDecoder.spill.decode(ConversationSnapshot.self, from: data) else { return nil }
        restored += 1
        return snapshot.state(kb: kb)
    }

    /// Puts a conversation back as the most recently used, trimming its transcript, then
    /// moves the least recently used beyond the limit to disk.
    func put(_ key: String, _ state: ConversationState, now: Date) {
        var state = state
        state.trimTranscript(keeping: limits.transcriptLines)
        tick += 1
        live[key] = Live(box: StateBox(state), lastUsed: now, tick: tick)
        recency.append((key, tick))
        evictBeyondLimit()
        compactRecency()
    }

    /// Whether the customer has a conversation in memory or on disk.
    func contains(_ key: String) -> Bool { live[key] != nil || spilled[key] != nil }

    /// Forgets a conversation without ending it (its customer can never come back to it).
    func remove(_ key: String) {
        live[key] = nil
        if spilled.removeValue(forKey: key) != nil { unlink(file(for: key)) }
    }

    /// Ends every conversation idle past the horizon and returns them, oldest first, for
    /// their end events.
    func expire(now: Date) -> [Ended] {
        let cutoff = now.addingTimeInterval(-limits.idleHorizon)
        var ended: [Ended] = []
        while recencyHead < recency.count {
            let (key, t) = recency[recencyHead]
            guard let entry = live[key], entry.tick == t else { recencyHead += 1; continue }
            guard entry.lastUsed < cutoff, let state = entry.state else { break }
            recencyHead += 1
            live[key] = nil
            ended.append(Ended(state: state, key: key, conversation: state.id, customer: state.customer, channel: state.channel,
                               handedOff: state.ticket != nil, needsEnd: Self.needsEnd(state)))
        }
        while spillHead < spillOrder.count {
            let (key, lastUsed) = spillOrder[spillHead]
            guard let entry = spilled[key], entry.lastUsed == lastUsed else { spillHead += 1; continue }
            guard lastUsed < cutoff else { break }
            spillHead += 1
            spilled[key] = nil
            unlink(file(for: key))
            ended.append(Ended(state: nil, key: key, conversation: entry.conversation, customer: key, channel: entry.channel,
                               handedOff: entry.handedOff, needsEnd: entry.needsEnd))
        }
        endedIdle += ended.count
        compactRecency()
        return ended
    }

    /// A conversation with a person is not over when its customer goes quiet (the ticket
    /// brings it back), and a closed one has already recorded its end.
    private static func needsEnd(_ state: ConversationState) -> Bool {
        switch state.stage {
        case .withPerson, .closed: false
        default: true
        }
    }

    private func evictBeyondLimit() {
        while live.count > limits.maxLive, recencyHead < recency.count {
            let (key, t) = recency[recencyHead]
            recencyHead += 1
            guard let entry = live[key], entry.tick == t, let state = entry.state else { continue }
            guard write(state, key: key) else {
                // The disk refuses: keep it in memory rather than lose what the customer relies on.
                recency.append((key, t))
                return
            }
            live[key] = nil
            spilled[key] = Spilled(lastUsed: entry.lastUsed, conversation: state.id, channel: state.channel,
                                   handedOff: state.ticket != nil, needsEnd: Self.needsEnd(state))
            spillOrder.append((key, entry.lastUsed))
            evictions += 1
        }
    }

    private func write(_ state: ConversationState, key: String) -> Bool {
        do {
            let data = try JSONEncoder.spill.encode(ConversationSnapshot(state))
            let fd = try POSIX.open(file(for: key), flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
            defer { Glibc.close(fd) }
            try POSIX.writeAll(fd, Array(data), path: file(for: key))
            return true
        } catch {
            spillFailures += 1
            if spillComplaints.allows(at: Date()) {
                log.note("kefu serve: cannot move idle conversations out of memory (\(error)); they stay in memory, which grows. Free space in the data folder.")
            }
            return false
        }
    }

    /// Drops the consumed front of the queues once it is most of them, and the entries of
    /// conversations touched again since once they outnumber the live ones: every message
    /// appends one, and the queue must not grow with the messages.
    private func compactRecency() {
        if recencyHead > 4096 && recencyHead * 2 > recency.count {
            recency.removeFirst(recencyHead)
            recencyHead = 0
        }
        if recency.count > 2 * live.count + 4096 {
            recency = recency[recencyHead...].filter { live[$0.key]?.tick == $0.tick }
            recencyHead = 0
        }
        if spillHead > 4096 && spillHead * 2 > spillOrder.count {
            spillOrder.removeFirst(spillHead)
            spillHead = 0
        }
    }

    /// One file per conversation, named by the SHA-256 of the key: keys hold any printable text.
    private func file(for key: String) -> String {
        (folder as NSString).appendingPathComponent(SHA256.hex(Array(key.utf8)))
    }
}

extension JSONEncoder {
    static let spill: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .secondsSince1970
        return e
    }()
}

extension JSONDecoder {
    static let spill: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return d
    }()
}
