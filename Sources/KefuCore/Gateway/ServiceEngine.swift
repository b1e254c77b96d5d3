import Foundation

/// The gateway's single owner of conversation state: every customer message and agent
/// command runs here, one at a time, so conversations and tickets need no further locking.
///
/// Lines arrive in batches. The engine answers every line of a batch and passes the batch's
/// events and replies to a committer thread, which writes the events with one `fsync` and
/// only then hands the replies to the I/O thread: what a customer has seen answered is on
/// disk (group commit, as databases do). The engine meanwhile works on the next batch
/// instead of waiting for the disk.
final class ServiceEngine: @unchecked Sendable {
    private var dialogue: Dialogue
    private let desk: ServiceDesk
    private let token: String
    private let counters: GatewayCounters
    private let deliver: @Sendable ([GatewayOutput]) -> Void

    private let inbox = BatchQueue<GatewayInput>()
    /// Batches waiting for their sync, in order.
    private let commits = BatchQueue<(events: [Data], outputs: [GatewayOutput])>()
    /// Signalled once the last batch is committed and delivered.
    private let finished = DispatchSemaphore(value: 0)

    private var conversations: [String: ConversationState] = [:]
    /// Where a customer can be reached now: connection, and session on a JSON connection.
    private var reach: [String: (connection: Int, session: String?)] = [:]
    /// The customers reached through each connection, so a closed connection is forgotten in
    /// O(its customers) rather than by scanning every customer.
    private var customersOn: [Int: Set<String>] = [:]
    private var agents: [Int: String] = [:]
    private var authFailures: [Int: Int] = [:]
    private var started = Set<String>()
    private var handedOff = Set<String>()
    private var outputs: [GatewayOutput] = []

    static let maxAuthFailures = 3

    init(dialogue: Dialogue, desk: ServiceDesk, token: String, counters: GatewayCounters,
         deliver: @escaping @Sendable ([GatewayOutput]) -> Void) {
        self.dialogue = dialogue
        self.desk = desk
        self.token = token
        self.counters = counters
        self.deliver = deliver
        desk.events.deferred = true
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "kefu-engine"
        thread.start()
        let committer = Thread { [self] in commitLoop() }
        committer.name = "kefu-commit"
        committer.start()
    }

    /// Syncs each batch's events, then releases its replies; stops after the engine does.
    private func commitLoop() {
        while let batches = commits.takeAll() {
            do {
                try desk.events.write(batches.flatMap(\.events))
            } catch {
                FileHandle.standardError.write(Data((LineSanitizer.diagnostic("kefu serve: cannot write the event log: \(error)") + "\n").utf8))
            }
            deliver(batches.flatMap(\.outputs))
        }
        finished.signal()
    }

    func submit(_ inputs: [GatewayInput]) {
        inbox.put(inputs)
    }

    /// Finishes what was submitted, commits, and returns once the last replies are delivered.
    func drain() {
        inbox.close()
        finished.wait()
    }

    private func loop() {
        while let batch = inbox.takeAll() {
            for input in batch { handle(input) }
            let ready = outputs
            outputs.removeAll(keepingCapacity: true)
            commits.put((desk.events.takePending(), ready))
        }
        commits.close()
    }

    // MARK: Customers

    private func handle(_ input: GatewayInput) {
        let now = Date()
        switch input {
        case .customer(let connection, let session, let customer, let text, let received):
            counters.countMessage()
            place(customer, on: connection, session: session)
            var state = conversation(customer, channel: session == nil ? "tcp" : "json", now: now)
            let before = state.stage
            do {
                let reply = try dialogue.respond(to: text, in: &state, now: now)
                conversations[customer] = state
                send(to: customer, reply.lines, route: reply.route, topic: reply.topic, ticket: reply.ticket?.id, received: received)
                if let ticket = reply.ticket {
                    handedOff.insert(state.id)
                    notifyAgents("* NEW \(ticket.id) \(ticket.priority) \(ticket.reason.rawValue) \(oneLine(ticket.summary))")
                } else if case .withPerson(let id) = before, let holder = desk.tickets.ticket(id)?.assignee {
                    notifyAgent(named: holder, "* MESSAGE \(id) \(oneLine(PrivacyMask.mask(text)))")
                }
            } catch {
                FileHandle.standardError.write(Data((LineSanitizer.diagnostic("kefu serve: \(error)") + "\n").utf8))
                send(to: customer, ["抱歉，系统暂时无法记录您的消息，请稍后再试。"], route: nil, topic: nil, ticket: nil, received: received)
            }
        case .identify(let connection, let session, let customer, let received):
            place(customer, on: connection, session: session)
            var state = conversation(customer, channel: session == nil ? "tcp" : "json", now: now)
            let opening = (try? dialogue.opening(&state, now: now)) ?? nil
            conversations[customer] = state
            send(to: customer, opening?.lines ?? [], route: nil, topic: nil, ticket: state.ticket, received: received)
        case .customerGone(let connection):
            for customer in customersOn.removeValue(forKey: connection) ?? [] where reach[customer]?.connection == connection {
                reach[customer] = nil
            }
        case .agent(let connection, let line, let received):
            agentCommand(connection: connection, line: line, received: received, now: now)
        case .agentGone(let connection):
            agents[connection] = nil
            authFailures[connection] = nil
        case .reload(let kb):
            dialogue = Dialogue(kb: kb, desk: desk)
        }
    }

    /// The customer's conversation, taken out of the table so that changing it does not copy
    /// its transcript (the caller puts it back).
    private func place(_ customer: String, on connection: Int, session: String?) {
        reach[customer] = (connection, session)
        customersOn[connection, default: []].insert(customer)
    }

    private func conversation(_ customer: String, channel: String, now: Date) -> ConversationState {
        if let state = conversations.removeValue(forKey: customer), state.stage != .closed { return state }
        let state = (try? dialogue.start(customer: customer, channel: channel, now: now))
            ?? ConversationState(customer: customer, channel: channel, started: now)
        started.insert(state.id)
        return state
    }

    /// Sends reply lines to wherever the customer is connected now.
    private func send(to customer: String, _ lines: [String], route: Route?, topic: String?, ticket: String?,
                      received: UInt64?, push: String? = nil, agent: String? = nil) {
        guard let place = reach[customer] else { return }
        let lines = LineSanitizer.lines(lines.joined(separator: "\n"))  // an agent's text or name holds anything
        let bytes: [UInt8]
        if let session = place.session {
            var object: [String: Any] = ["session": session, "customer": customer, "text": lines.joined(separator: "\n")]
            if let route { object["route"] = route.rawValue }
            if let topic { object["topic"] = topic }
            if let ticket { object["ticket"] = ticket }
            if let push { object["type"] = push }
            if let agent { object["agent"] = LineSanitizer.clean(agent) }
            bytes = Array((Self.json(object) + "\n").utf8)
        } else {
            bytes = Array((lines.joined(separator: "\n") + "\n\n").utf8)
        }
        outputs.append(GatewayOutput(connection: place.connection, bytes: bytes, received: received))
    }

    // MARK: Agents

    private func agentCommand(connection: Int, line: String, received: UInt64, now: Date) {
        let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        let verb = parts.first.map { $0.uppercased() } ?? ""
        let rest = parts.count > 1 ? String(parts[1]) : ""
        func answer(_ text: String, close: Bool = false) {
            outputs.append(GatewayOutput(connection: connection, bytes: LineSanitizer.wire(text), close: close, received: received))
        }
        if verb == "QUIT" { answer("OK bye", close: true); return }
        guard let agent = agents[connection] else {
            guard verb == "AUTH" else {
                FileHandle.standardError.write(Data("kefu serve: agent connection \(connection) sent \(verb.prefix(16)) before AUTH\n".utf8))
                answer("ERR authenticate first: AUTH <name> <token>")
                return
            }
            let words = rest.split(separator: " ").map(String.init)
            if words.count == 2, !words[0].isEmpty, constantTimeEqual(words[1], token) {
                agents[connection] = words[0]
                authFailures[connection] = nil
                answer("OK welcome \(words[0])")
            } else {
                let failures = (authFailures[connection] ?? 0) + 1
                authFailures[connection] = failures
                FileHandle.standardError.write(Data("kefu serve: failed AUTH on agent connection \(connection) (\(failures) of \(Self.maxAuthFailures))\n".utf8))
                answer("ERR authentication failed", close: failures >= Self.maxAuthFailures)
            }
            return
        }
        let store = desk.tickets
        do {
            try store.refresh()
            switch verb {
            case "AUTH":
                answer("ERR already authenticated as \(agent)")
            case "LIST":
                let queue = store.queue()
                var text = "OK \(queue.count)\n"
                for t in queue { text += Self.json(TicketJSON.listing(t, now: now)) + "\n" }
                answer(text + ".")
            case "SHOW":
                guard let t = store.ticket(rest.trimmingCharacters(in: .whitespaces)) else { throw TicketError.unknown(rest) }
                answer("OK\n" + Self.json(TicketJSON.full(t, now: now, unmasked: t.assignee == agent)) + "\n.")
            case "CLAIM":
                let t = try store.claim(rest.trimmingCharacters(in: .whitespaces), agent: agent, now: now)
                try agentEvent("claim", ticket: t, agent: agent, now: now)
                answer("OK \(t.id) claimed")
                personJoined(t, agent: agent)
            case "NEXT":
                if let t = try store.claimNext(agent: agent, now: now) {
                    try agentEvent("next", ticket: t, agent: agent, now: now)
                    answer("OK \(t.id) claimed \(t.reason.rawValue) \(oneLine(t.summary))")
                    personJoined(t, agent: agent)
                } else {
                    answer("OK none waiting")
                }
            case "REPLY":
                let (id, text) = split(rest)
                guard !text.isEmpty else { answer("ERR usage: REPLY <id> <text>"); return }
                try store.reply(id, agent: agent, text: text, now: now)
                let t = store.ticket(id)!
                try agentEvent("reply", ticket: t, agent: agent, now: now)
                if reach[t.customer] != nil {
                    send(to: t.customer, ["[人工客服 \(agent)] \(text)"], route: nil, topic: nil, ticket: id, received: nil, push: "agent_reply", agent: agent)
                    try store.markDelivered(id, count: t.agentReplies.count, now: now)
                    answer("OK delivered")
                } else {
                    answer("OK recorded; the customer is not connected and sees it on return")
                }
            case "NOTE":
                let (id, text) = split(rest)
                try store.note(id, agent: agent, text: text, now: now)
                answer("OK")
            case "TRANSFER":
                let (id, to) = split(rest)
                guard !to.isEmpty else { answer("ERR usage: TRANSFER <id> <agent>"); return }
                try store.transfer(id, from: agent, to: to, now: now)
                notifyAgent(named: to, "* TRANSFERRED \(id) from \(agent)")
                answer("OK \(id) transferred to \(to)")
            case "RELEASE":
                try store.release(rest.trimmingCharacters(in: .whitespaces), agent: agent, now: now)
                answer("OK")
            case "RESOLVE":
                let (id, note) = split(rest)
                try store.resolve(id, agent: agent, note: note.isEmpty ? nil : note, now: now)
                let t = store.ticket(id)!
                try agentEvent("resolve", ticket: t, agent: agent, now: now)
                answer("OK \(id) resolved")
                handBackToBot(t)
            case "STATS":
                answer("OK " + Self.json(stats()))
            default:
                answer("ERR unknown command '\(verb.prefix(20))'; commands: AUTH LIST SHOW CLAIM NEXT REPLY NOTE TRANSFER RELEASE RESOLVE STATS QUIT")
            }
        } catch let error as TicketError {
            answer("ERR \(error.description)")
        } catch {
            answer("ERR \(error)")
        }
    }

    /// Tells the customer a person has joined (live relay starts).
    private func personJoined(_ t: Ticket, agent: String) {
        send(to: t.customer, ["人工客服 \(agent) 已接入，正在为您服务。"], route: nil, topic: nil, ticket: t.id, received: nil, push: "agent_joined", agent: agent)
    }

    /// After resolve, the bot takes the conversation back and asks for a rating.
    private func handBackToBot(_ t: Ticket) {
        guard reach[t.customer] != nil, var state = conversations[t.customer], case .withPerson = state.stage else { return }
        state.stage = .rating(ticket: t.id)
        state.ratingAsked = true
        conversations[t.customer] = state
        let phrases = ReplyComposer(kb: dialogue.kb)
        send(to: t.customer, [phrases.phrase("person_resolved", ["ticket": t.id]), phrases.phrase("rating")],
             route: nil, topic: nil, ticket: t.id, received: nil, push: "resolved")
    }

    private func agentEvent(_ action: String, ticket: Ticket, agent: String, now: Date) throws {
        var event = ServiceEvent(kind: .agentAction, time: now)
        event.action = action
        event.agent = agent
        event.ticket = ticket.id
        event.conversation = ticket.conversation
        event.customer = ticket.customer
        event.reason = ticket.reason.rawValue
        try desk.events.record(event)
    }

    private func notifyAgents(_ line: String) {
        for connection in agents.keys.sorted() { outputs.append(GatewayOutput(connection: connection, bytes: LineSanitizer.wire(line))) }
    }

    private func notifyAgent(named name: String, _ line: String) {
        for (connection, agent) in agents where agent == name {
            outputs.append(GatewayOutput(connection: connection, bytes: LineSanitizer.wire(line)))
        }
    }

    private func stats() -> [String: Any] {
        let (customers, agentCount, messages) = counters.snapshot()
        let latency = counters.latencyPercentiles()
        let waiting = desk.tickets.queue().filter { $0.state == .waiting }.count
        let containment = started.isEmpty ? 1.0 : 1 - Double(handedOff.count) / Double(started.count)
        return ["connections": ["customers": customers, "agents": agentCount], "messages": messages,
                "p50_reply_ms": latency.p50, "p99_reply_ms": latency.p99, "handoffs_waiting": waiting,
                "conversations": started.count, "containment": containment]
    }

    private func split(_ text: String) -> (String, String) {
        let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        return (parts.first.map(String.init) ?? "", parts.count > 1 ? String(parts[1]) : "")
    }

    /// Content that may hold line breaks of its own (a summary, a customer's message), made one line.
    private func oneLine(_ s: String) -> String { LineSanitizer.clean(s) }

    static func json(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return LineSanitizer.escapingJSON(String(decoding: data, as: UTF8.self))
    }
}

/// Compares a token without leaking how many leading characters matched.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<x.count { difference |= x[i] ^ y[i] }
    return difference == 0
}
