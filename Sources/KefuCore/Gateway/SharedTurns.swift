import Foundation

/// The engine's side of conversations shared by several instances (`--store redis://…`):
/// which customers' turns this instance holds, the version of each copy it keeps, and the
/// states to save when the slice of messages being handled is done. Engine thread only.
///
/// A slice's turns are taken in one round trip before it is handled (`take(_:)`) and saved in
/// one after (`endSlice`), so a message costs at most two round trips, and fewer under load.
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
    private let log: any DiagnosticLog

    private var versions: [String: Int64] = [:]
    private var held: Set<String> = []
    /// Turns taken ahead for the slice (nil: the store did not answer).
    private var prefetched: [String: SharedTurn?] = [:]
    private var pending: [String: ConversationState] = [:]
    private var complaints = OncePerMinute()

    init(store: any SharedConversations, instance: String, keepFor: TimeInterval, log: any DiagnosticLog) {
        self.store = store
        self.instance = instance
        self.keepFor = keepFor
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
            let turns = try store.beginTurns(wanted.map { ($0, versions[$0] ?? 0) }, owner: instance)
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
            do { turn = try store.beginTurns([(customer, versions[customer] ?? 0)], owner: instance).first } catch {
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
            return versions.removeValue(forKey: customer) != nil ? .startAnew : .proceed
        case .unchanged?:
            held.insert(customer)
            return .proceed
        case .stored(let bytes, let version)?:
            held.insert(customer)
            do {
                let snapshot = try JSONDecoder.spill.decode(ConversationSnapshot.self, from: Data(bytes))
                versions[customer] = version
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
        var saves: [(customer: String, state: [UInt8], expected: Int64)] = []
        for (customer, state) in pending {
            guard let bytes = try? JSONEncoder.spill.encode(ConversationSnapshot(state)) else { continue }
            saves.append((customer, Array(bytes), versions[customer] ?? 0))
        }
        let takenAhead = prefetched.compactMap { customer, turn -> String? in
            guard let turn, turn != .busy else { return nil }
            return customer
        }
        let unused = held.subtracting(pending.keys).union(takenAhead)
        held.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
        prefetched.removeAll(keepingCapacity: true)
        do {
            for (save, version) in zip(saves, try store.endTurns(saves, owner: instance, keepFor: keepFor)) {
                versions[save.customer] = version
                if version == nil {
                    log.note("kefu serve: another instance changed a conversation while this one held its turn; its state is kept and read again here")
                }
            }
            if !unused.isEmpty { try store.releaseTurns(Array(unused), owner: instance) }
        } catch {
            complain(error)
        }
    }

    /// A conversation that went quiet here: true when it has ended (its record is removed),
    /// false when another instance carried it on since, or is doing so now.
    func ended(_ customer: String) -> Bool {
        let known = versions.removeValue(forKey: customer) ?? 0
        do { return try store.finish(customer, expected: known, owner: instance) } catch {
            complain(error)
            return true
        }
    }

    /// Forgets the customer's version (they can never come back to this conversation).
    func forget(_ customer: String) {
        versions[customer] = nil
    }

    private func complain(_ error: any Error) {
        guard complaints.allows(at: Date()) else { return }
        log.note("kefu serve: cannot reach the shared conversations (\(error)); customers are served from this instance's copies until it answers again")
    }
}
