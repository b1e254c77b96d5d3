import Foundation

/// The engine's side of conversations shared by several instances (`--store redis://…`):
/// which customers' turns this instance holds, what the store holds of each conversation it
/// saved or read, and the states to save when the slice of messages being handled is done.
/// Engine thread only.
///
/// A slice's turns are taken in one round trip before it is handled (`take(_:)`) and saved in
/// one after (`endSlice`), so a message costs at most two round trips, and fewer under load.
/// A save ships the small rest of the state and only the transcript lines and understood
/// messages added since the last save (`SharedSave`): the whole conversation, on every
/// message, was most of what Redis had to write.
final class SharedTurns {
    /// What the engine does with a customer's message.
    enum Outcome {
        /// Go on with the copy in memory (current, or the store cannot be reached).
        case proceed
        /// Another instance is in the middle of this customer's turn: try again shortly.
        case busy
        /// The conversation this instance saved has ended idle elsewhere: start anew.
        case startAnew
        /// Another instance carried the conversation on: continue from its state.
        case adopt(ConversationSnapshot)
    }

    private let store: any SharedConversations
    /// This instance, as the store knows the holder of a turn.
    let instance: String
    /// How long a saved conversation lasts without a save: the idle horizon.
    private let keepFor: TimeInterval
    /// How many lines and understood messages the store keeps of each conversation: as many
    /// as the transcript in memory (its first line, the omission marker and the last lines).
    private let keep: Int
    private let log: any DiagnosticLog

    /// What the store holds of a conversation: its version, and the last line and understood
    /// message of its lists (the new ones of the next save are those after them).
    private struct Saved {
        var version: Int64
        var lastLine: TranscriptLine?
        var lastTurn: TurnRecord?
    }
    private var saved: [String: Saved] = [:]
    private var held: Set<String> = []
    /// Turns taken ahead for the slice (nil: the store did not answer).
    private var prefetched: [String: SharedTurn?] = [:]
    private var pending: [String: ConversationState] = [:]
    private var complaints = OncePerMinute()

    init(store: any SharedConversations, instance: String, limits: ConversationLimits, log: any DiagnosticLog) {
        self.store = store
        self.instance = instance
        keepFor = limits.idleHorizon
        keep = limits.transcriptLines + 2
        self.log = log
    }

    /// Takes the turns of these customers at once, for the messages of a slice.
    func take(_ customers: [String]) {
        var wanted: [String] = []
        for customer in customers where !held.contains(customer) {
            if prefetched.updateValue(nil, forKey: customer) == nil { wanted.append(customer) }
        }
        guard !wanted.isEmpty else { return }
        do {
            let turns = try store.beginTurns(wanted.map { ($0, saved[$0]?.version ?? 0) }, owner: instance)
            for (customer, turn) in zip(wanted, turns) { prefetched[customer] = turn }
        } catch {
            complain(error)
        }
    }

    /// The customer's turn: taken ahead with the slice, else now.
    func take(_ customer: String) -> Outcome {
        guard !held.contains(customer) else { return .proceed }
        let turn: SharedTurn?
        if let ahead = prefetched.removeValue(forKey: customer) {
            turn = ahead
        } else {
            do { turn = try store.beginTurns([(customer, saved[customer]?.version ?? 0)], owner: instance).first } catch {
                complain(error)
                turn = nil
            }
        }
        switch turn {
        case nil:
            return .proceed  // unreachable: served from this copy, nothing saved
        case .busy?:
            return .busy
        case SharedTurn.none?:
            held.insert(customer)
            // Saved from here before and gone now: it ended idle.
            return saved.removeValue(forKey: customer) != nil ? .startAnew : .proceed
        case .unchanged?:
            held.insert(customer)
            return .proceed
        case .stored(let stored, let version)?:
            held.insert(customer)
            do {
                let snapshot = try Self.snapshot(stored, lines: keep - 2)
                saved[customer] = Saved(version: version, lastLine: snapshot.transcript.last, lastTurn: snapshot.turns.last)
                return .adopt(snapshot)
            } catch {
                log.note("kefu serve: a shared conversation could not be read (\(error)); this instance's copy is used")
                return .proceed
            }
        }
    }

    /// The customer's state after their message, saved when the slice ends (if this instance
    /// holds their turn).
    func keep(_ customer: String, _ state: ConversationState) {
        if held.contains(customer) { pending[customer] = state }
    }

    /// Saves the slice's conversations by compare-and-set and ends their turns in one round
    /// trip, and gives back the turns taken for inputs that did not need them. A save refused
    /// because another instance saved first (the turn's lease ran out meanwhile) leaves
    /// theirs: this copy is read again next time.
    func endSlice() {
        guard !(held.isEmpty && prefetched.isEmpty) else { return }
        let pending = pending
        var saves: [SharedSave] = []
        for (customer, state) in pending {
            guard let save = try? save(customer, ConversationSnapshot(state)) else { continue }
            saves.append(save)
        }
        let takenAhead = prefetched.compactMap { customer, turn -> String? in
            guard let turn, turn != .busy else { return nil }
            return customer
        }
        let unused = held.subtracting(pending.keys).union(takenAhead)
        held.removeAll(keepingCapacity: true)
        self.pending.removeAll(keepingCapacity: true)
        prefetched.removeAll(keepingCapacity: true)
        do {
            for (save, version) in zip(saves, try store.endTurns(saves, owner: instance, keepFor: keepFor)) {
                if let version, let state = pending[save.customer] {
                    saved[save.customer] = Saved(version: version, lastLine: state.transcript.last, lastTurn: state.turns.last)
                } else {
                    saved[save.customer] = nil
                    log.note("kefu serve: another instance changed a conversation while this one held its turn; its state is kept and read again here")
                }
            }
            if !unused.isEmpty { try store.releaseTurns(Array(unused), owner: instance) }
        } catch {
            // Not known to be saved: the next save sends the lists whole again.
            for save in saves { saved[save.customer] = nil }
            complain(error)
        }
    }

    /// A conversation that went quiet here: true when it has ended (its record is removed),
    /// false when another instance carried it on since, or is doing so now.
    func ended(_ customer: String) -> Bool {
        let known = saved.removeValue(forKey: customer)?.version ?? 0
        do { return try store.finish(customer, expected: known, owner: instance) } catch {
            complain(error)
            return true
        }
    }

    /// Forgets what the store holds of the customer's conversation (they can never come back to it).
    func forget(_ customer: String) {
        saved[customer] = nil
    }

    private func complain(_ error: any Error) {
        guard complaints.allows(at: Date()) else { return }
        log.note("kefu serve: cannot reach the shared conversations (\(error)); customers are served from this instance's copies until it answers again")
    }

    // MARK: The state in three parts

    /// The save of a conversation: the rest of its state (with the transcript's first line and
    /// omission marker, once it has been shortened), and its lists' items after the last ones
    /// saved, or all of them again when the lists did not simply grow (a new conversation, or
    /// nothing known of what the store holds).
    private func save(_ customer: String, _ snapshot: ConversationSnapshot) throws -> SharedSave {
        let prefix = Self.prefix(of: snapshot.transcript)
        let lines = Array(snapshot.transcript.dropFirst(prefix.count))
        var core = snapshot
        core.transcript = prefix
        core.turns = []
        let known = saved[customer]
        let newLines = known.flatMap { Self.items(of: lines, after: $0.lastLine) }
        let newTurns = known.flatMap { Self.items(of: snapshot.turns, after: $0.lastTurn) }
        let rewrite = newLines == nil || newTurns == nil
        func encode<T: Encodable>(_ items: ArraySlice<T>) throws -> [[UInt8]] { try items.map { Array(try JSONEncoder.spill.encode($0)) } }
        return SharedSave(customer: customer, core: Array(try JSONEncoder.spill.encode(core)),
                          newLines: try encode(newLines ?? lines[...]), newTurns: try encode(newTurns ?? snapshot.turns[...]),
                          rewrite: rewrite, keep: keep, expected: known?.version ?? 0)
    }

    /// The items after `last`, all of them when `last` is nil (the list was empty); nil when
    /// `last` is not among them (the list was replaced, not extended).
    private static func items<T: Equatable>(of list: [T], after last: T?) -> ArraySlice<T>? {
        guard let last else { return list[...] }
        guard let index = list.lastIndex(of: last) else { return nil }
        return list[(index + 1)...]
    }

    /// The first line and the omission marker of a shortened transcript; nothing otherwise.
    private static func prefix(of transcript: [TranscriptLine]) -> [TranscriptLine] {
        transcript.count > 1 && transcript[1].from == ConversationState.omittedFrom ? Array(transcript.prefix(2)) : []
    }

    /// A stored conversation put back together: the rest of the state, then its lists (after a
    /// shortened transcript's first line and marker, its last `lines` lines).
    static func snapshot(_ stored: SharedState, lines: Int) throws -> ConversationSnapshot {
        var snapshot = try JSONDecoder.spill.decode(ConversationSnapshot.self, from: Data(stored.core))
        let tail = try stored.lines.map { try JSONDecoder.spill.decode(TranscriptLine.self, from: Data($0)) }
        snapshot.transcript += snapshot.transcript.isEmpty ? tail[...] : tail.suffix(lines)
        snapshot.turns = try stored.turns.map { try JSONDecoder.spill.decode(TurnRecord.self, from: Data($0)) }
        return snapshot
    }
}
