import Foundation

/// The gateway's single owner of conversation state: every customer message and agent
/// command runs here, one at a time, so conversations and tickets need no further locking.
///
/// Lines arrive in batches. The engine answers every line of a batch and passes the batch's
/// events and replies to a committer thread, which writes the events with one `fsync`, syncs
/// the ticket changes the engine wrote (one more), and only then hands the replies to the I/O
/// thread: what a customer or agent has seen answered is on disk (group commit, as databases do). The engine meanwhile works on the next batch
/// instead of waiting for the disk.
final class ServiceEngine: @unchecked Sendable {
    private var dialogue: Dialogue
    private let desk: ServiceDesk
    /// Checks `AUTH` passwords on its own thread; set once in `init`.
    private var authenticator: AgentAuthenticator!
    private let counters: GatewayCounters
    private let deliver: @Sendable ([GatewayOutput]) -> Void
    private let log: any DiagnosticLog
    /// Webhook deliveries, queued like events and written by the committer with them.
    private let webhooks: WebhookOutbox?

    private let inbox = BatchQueue<GatewayInput>()
    /// Batches waiting for their sync, in order.
    private let commits = BatchQueue<(events: [Data], webhooks: [WebhookOutbox.Delivery], outputs: [GatewayOutput])>()
    /// Signalled once the last batch is committed and delivered.
    private let finished = DispatchSemaphore(value: 0)

    /// Live conversations, bounded; the rest on disk or ended (see `ConversationStore`).
    private let conversations: ConversationStore
    /// This instance, for turns and for telling its own announcements apart.
    let instance = SecureRandom.hex(bytes: 8)
    /// Conversations shared with the other instances (`--store redis://…`); nil on one machine.
    private let shared: SharedTurns?
    /// Inputs waiting while another instance has their customer's turn, and the input being
    /// handled (to put back).
    private var waitingForTurn: [GatewayInput] = []
    private var currentInput: GatewayInput?
    /// Which customer each connection and session speaks for.
    private var directory = CustomerDirectory()
    /// Where a customer (by key) can be reached now.
    private var reach: [String: Place] = [:]
    /// The customers reached through each connection, so a closed connection is forgotten in
    /// O(its customers) rather than by scanning every customer.
    private var customersOn: [Int: Set<String>] = [:]
    private var agents = AgentSessions()
    private var agentAddresses: [Int: String] = [:]
    /// Agent connections whose `AUTH` is being checked, with the lines that came after it.
    private var loginsInFlight: [Int: [(line: String, received: UInt64)]] = [:]
    private var authFailures: [Int: Int] = [:]
    /// Conversations started and handed off since the server started, for `STATS`.
    private var startedCount = 0
    private var handoffCount = 0
    /// When idle conversations were last looked for.
    private var lastExpiry = Date()
    private var outputs: [GatewayOutput] = []

    static let maxAuthFailures = 3
    /// Lines an agent may send while its `AUTH` is checked; a client that needs more is not
    /// waiting for the answer, and the engine will not hold its lines for it.
    static let maxLinesAwaitingLogin = 64

    init(dialogue: Dialogue, desk: ServiceDesk, login: LoginPolicy, limits: ConversationLimits = ConversationLimits(),
         counters: GatewayCounters, webhooks: WebhookOutbox? = nil, log: any DiagnosticLog = StandardErrorLog(),
         deliver: @escaping @Sendable ([GatewayOutput]) -> Void) {
        self.dialogue = dialogue
        self.log = log
        self.webhooks = webhooks
        self.desk = desk
        conversations = ConversationStore(limits: limits, folder: ConversationStore.spillFolder(inDataFolder: desk.folder), log: log)
        let instance = instance
        shared = desk.conversations.map { SharedTurns(store: $0, instance: instance, limits: limits, log: log) }
        self.counters = counters
        self.deliver = deliver
        let inbox = inbox
        authenticator = AgentAuthenticator(accountsPath: AccountsFile.path(inDataFolder: desk.folder), policy: login, log: log) { result in
            inbox.put(.login(result))
        }
    }

    func start() {
        authenticator.start()
        let inbox = inbox
        if let relay = desk.relay {
            do { try relay.listen { inbox.put(.relayed($0)) } } catch {
                FileHandle.standardError.write(Data("kefu serve: cannot listen for replies from other instances: \(error); customers here see them with their next message\n".utf8))
            }
        }
        let thread = Thread { [self] in loop() }
        thread.name = "kefu-engine"
        thread.start()
        let committer = Thread { [self] in commitLoop() }
        committer.name = "kefu-commit"
        committer.start()
    }

    /// Syncs each batch's events, then releases its replies; stops after the engine does.
    ///
    /// Events that cannot be written (a full or read-only disk) do not hold replies back:
    /// customers keep being served. They are counted (`STATS`), reported on stderr at most
    /// once a minute, and the gap itself is recorded in the log as soon as it takes writes
    /// again (or, at shutdown, in a small side file), so reports say their figures are incomplete.
    private func commitLoop() {
        var gap = UnrecordedGap()
        while let batches = commits.takeAll() {
            let events = batches.flatMap(\.events)
            if !events.isEmpty || gap.count > 0 {
                let now = Date()
                do {
                    try desk.events.write(gap.records() + events)
                    if gap.count > 0 {
                        log.note("kefu serve: the event log takes writes again; \(gap.description) (recorded in the log)")
                        gap = UnrecordedGap()
                    }
                } catch {
                    gap.add(events.count, at: now)
                    counters.countUnrecorded(events.count, at: now)
                    if gap.shouldComplain(at: now) {
                        log.note("kefu serve: cannot write the event log in \(desk.folder): \(error); customers are still answered, but \(gap.description). Free space or make the folder writable")
                    }
                }
            }
            syncTickets()
            writeWebhooks(batches.flatMap(\.webhooks))
            deliver(batches.flatMap(\.outputs))
        }
        if gap.count > 0 { recordAtShutdown(gap) }
        finished.signal()
    }

    /// Makes the batch's ticket changes durable (written by the engine, not yet synced) before
    /// its replies tell anyone. When the sync fails the bytes are still in the file for every
    /// process, and only a power loss could take them: the replies go out, and stderr says so
    /// once a minute.
    private func syncTickets() {
        do {
            try desk.tickets.syncPending()
        } catch {
            guard ticketComplaints.allows(at: Date()) else { return }
            log.note("kefu serve: cannot sync the tickets in \(desk.folder): \(error); recent ticket changes would not survive a power loss. Check the disk")
        }
    }
    /// Committer thread only.
    private var ticketComplaints = OncePerMinute()

    /// The batch's webhook deliveries, synced before its replies go out. When the outbox file
    /// takes no writes they are still sent, from memory, and stderr says so once a minute.
    private func writeWebhooks(_ deliveries: [WebhookOutbox.Delivery]) {
        guard let webhooks, !deliveries.isEmpty else { return }
        do {
            try webhooks.write(deliveries)
        } catch {
            guard webhookComplaints.allows(at: Date()) else { return }
            log.note("kefu serve: cannot write \(webhooks.path): \(error); \(deliveries.count) webhook deliveries are sent from memory only and would be lost by a restart. Free space or make the folder writable")
        }
    }
    /// Committer thread only.
    private var webhookComplaints = OncePerMinute()

    /// The last chance for a gap: the log, else the side file, else stderr.
    private func recordAtShutdown(_ gap: UnrecordedGap) {
        if (try? desk.events.write(gap.records())) != nil { return }
        let path = EventLog.gapsPath(folder: desk.folder)
        if let fd = try? POSIX.open(path, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o600) {
            defer { close(fd) }
            var line = Array(gap.records().first ?? Data())
            line.append(0x0A)
            if (try? POSIX.writeAll(fd, line, path: path)) != nil, (try? POSIX.fsync(fd, path: path)) != nil { return }
        }
        log.note("kefu serve: \(gap.description); this could not be recorded anywhere in \(desk.folder)")
    }

    func submit(_ inputs: [GatewayInput]) {
        inbox.put(inputs)
    }

    /// Finishes what was submitted, commits, and returns once the last replies are delivered.
    func drain() {
        authenticator.stop()
        desk.relay?.stop()
        inbox.close()
        finished.wait()
    }

    /// Lines answered before their replies go to the committer: a burst of a thousand new
    /// customers is committed in slices, so the first replies leave while the engine works on
    /// the rest, and one sync still serves many replies.
    static let commitSlice = 64
    /// The first slice of a batch is smaller, so the first replies of a burst leave sooner.
    static let firstCommitSlice = 16

    /// Conversations, the directory and the agents' sessions are the engine thread's alone.
    private var engineThread = ThreadOwner("engine")

    private func loop() {
        engineThread.claim()
        while let batch = inbox.takeAll() {
            var start = 0
            while start < batch.count {
                let end = min(batch.count, start == 0 ? Self.firstCommitSlice : start + Self.commitSlice)
                let slice = batch[start..<end]
                takeTurns(of: slice)
                slice.forEach(handle)
                shared?.endSlice()
                hand()
                start = end
            }
        }
        conversations.close()
        commits.close()
    }

    /// Passes what is answered so far, with its events, to the committer.
    private func hand() {
        let events = desk.events.takePending()
        let deliveries = webhooks?.takePending() ?? []
        guard !outputs.isEmpty || !events.isEmpty || !deliveries.isEmpty else { return }
        let ready = outputs
        outputs.removeAll(keepingCapacity: true)
        commits.put((events, deliveries, ready))
    }

    // MARK: Customers

    /// A connection, and on a JSON connection the session and the customer as the line named
    /// them (replies echo the client's own names, never the internal key).
    struct Place {
        let connection: Int
        let session: String?
        let name: String?
        /// A web conversation: replies are items of its feed (see `GatewayOutput.feed`).
        var web = false
    }

    /// The connection of a push to a web conversation, which answers no request.
    static let noConnection = -1
    /// The connection whose request the engine is answering now, for a web conversation's
    /// reply (its place has no connection of its own).
    private var replyingTo: Int?
    /// The client's id of the web message being answered.
    private var replyingToMessage: String?

    private func handle(_ input: GatewayInput) {
        engineThread.check()
        let now = Date()
        currentInput = input
        defer { currentInput = nil }
        switch input {
        case .customer(let connection, let speaker, let text, let received):
            customerMessage(text, on: connection, as: speaker, clientMessageID: nil, received: received, now: now)
        case .webMessage(let connection, let speaker, let text, let clientMessageID, let received):
            customerMessage(text, on: connection, as: speaker, clientMessageID: clientMessageID, received: received, now: now)
        case .identify(let connection, let speaker, let received):
            let customer = directory.key(for: speaker, on: connection)
            guard admits(customer, on: connection, as: speaker, received: received) else { return }
            greet(customer, on: connection, as: speaker, received: received, now: now)
        case .resume(let connection, let speaker, let code, let received):
            guard admits(directory.key(for: speaker, on: connection), on: connection, as: speaker, received: received) else { return }
            if let ticket = ResumeCode.hash(typed: code).flatMap({ resumable($0, now: now) }) {
                directory.attach(ticket.customer, as: speaker, on: connection)
                greet(ticket.customer, on: connection, as: speaker, received: received, now: now)
            } else {
                log.note("kefu serve: unknown or expired resume code on customer connection \(connection)")
                let customer = directory.key(for: speaker, on: connection)
                if case .session = speaker {
                    place(customer, on: connection, as: speaker)
                    send(to: customer, [], route: nil, topic: nil, ticket: nil, received: received, error: IdentityNotice.unknownCodeJSON)
                } else {
                    greet(customer, on: connection, as: speaker, received: received, now: now, notice: IdentityNotice.unknownCode)
                }
            }
        case .customerSignal(let connection, let speaker, let signal):
            tellAgent(signal, from: directory.key(for: speaker, on: connection), now: now)
        case .customerGone(let connection):
            for customer in customersOn.removeValue(forKey: connection) ?? [] where reach[customer]?.connection == connection {
                reach[customer] = nil
                // Only a resume code leads back to an anonymous customer, and the conversation
                // it leads to is rebuilt from the ticket: keeping a copy would only hold memory.
                if CustomerKey.needsResumeCode(customer) {
                    conversations.remove(customer)
                    shared?.forget(customer)
                }
            }
            directory.forget(connection)
        case .agent(let connection, let line, let received):
            agentCommand(connection: connection, line: line, received: received, now: now)
        case .agentConnected(let connection, let address):
            agentAddresses[connection] = address
        case .login(let result):
            finishLogin(result, now: now)
        case .agentGone(let connection):
            agents.logout(connection)
            agentAddresses[connection] = nil
            loginsInFlight[connection] = nil
            authFailures[connection] = nil
        case .reload(let kb):
            dialogue = Dialogue(kb: kb, desk: desk)
            // The old knowledge base's pages go back to the system, not only to malloc's free lists.
            releaseFreeMemory()
        case .tick:
            if now.timeIntervalSince(lastExpiry) >= 1 { endIdleConversations(now: now) }
            let waiting = waitingForTurn
            waitingForTurn.removeAll()
            waiting.forEach(handle)
        case .relayed(let notice):
            heard(notice, now: now)
        }
    }

    /// A customer's message: the dialogue's reply to wherever the customer is, the new case
    /// to the agents, or the message to the agent who has the case. On the web channel the
    /// message itself is an item of the conversation too, ahead of the reply.
    private func customerMessage(_ text: String, on connection: Int, as speaker: Speaker, clientMessageID: String?,
                                 received: UInt64, now: Date) {
        let customer = directory.key(for: speaker, on: connection)
        guard admits(customer, on: connection, as: speaker, received: received), takeTurn(customer, now: now) else { return }
        counters.countMessage()
        place(customer, on: connection, as: speaker)
        replyingTo = connection
        replyingToMessage = clientMessageID
        defer { replyingTo = nil; replyingToMessage = nil }
        if let clientMessageID {
            sendItem(to: customer, from: "customer", type: "message", text: text, received: nil,
                     fields: ["client_message_id": clientMessageID])
        }
        var state = conversation(customer, channel: speaker.channel, now: now)
        let before = state.stage
        let unrated = unratedTicket(state)
        do {
            let reply = try dialogue.respond(to: text, in: &state, now: now)
            if let id = unrated, let t = try? desk.tickets.ticket(id), let score = t.rating { webhook(.rating, t, agent: t.assignee, rating: score, now: now) }
            keep(customer, state, now: now)
            var extra = ReplyJSON.fields(reply)
            if reach[customer]?.web == true { extra.merge(webState(state, reply: reply)) { $1 } }
            send(to: customer, reply.shown, route: reply.route, topic: reply.topic, ticket: reply.ticket?.id, received: received,
                 resumeCode: reply.resumeCode, extra: extra)
            if let ticket = reply.ticket {
                handoffCount += 1
                webhook(.handoff, ticket, text: ticket.summary, now: now)
                notifyAgents(Self.newCaseLine(ticket))
                announce(.handoff, ticket.id)
            } else if let raised = reply.raised {
                // The waiting case became more urgent: agents see its new priority.
                notifyAgents(Self.newCaseLine(raised))
                announce(.handoff, raised.id)
            } else if case .withPerson(let id) = before, let holder = (try? desk.tickets.ticket(id))??.assignee {
                if !notifyAgent(named: holder, "* MESSAGE \(id) \(oneLine(PrivacyMask.mask(text)))") { announce(.message, id) }
            }
        } catch {
            // What the dialogue changed before it failed stays: the customer's place in it.
            keep(customer, state, now: now)
            log.note("kefu serve: \(error)")
            send(to: customer, ["抱歉，系统暂时无法记录您的消息，请稍后再试。"], route: nil, topic: nil, ticket: nil, received: received)
        }
    }

    /// `* TYPING id` or `* READ id seq` to the agent holding the customer's case; nothing
    /// when no person has it (the bot needs neither).
    private func tellAgent(_ signal: CustomerSignal, from customer: String, now: Date) {
        guard let state = conversations.take(customer, kb: dialogue.kb) else { return }
        conversations.put(customer, state, now: now)
        guard case .withPerson(let id) = state.stage, let holder = (try? desk.tickets.ticket(id))??.assignee else { return }
        switch signal {
        case .typing: notifyAgent(named: holder, "* TYPING \(id)")
        case .read(let seq): notifyAgent(named: holder, "* READ \(id) \(seq)")
        }
    }

    /// Whether a JSON connection may speak for one more customer: it holds at most
    /// `maxSessionsPerConnection` at once, so one connection cannot invent customers without
    /// end. A customer it already holds is always admitted; a refused one gets an error.
    private func admits(_ customer: String, on connection: Int, as speaker: Speaker, received: UInt64) -> Bool {
        guard case .session(let session, let name, _) = speaker else { return true }
        let held = customersOn[connection]
        let limit = conversations.limits.maxSessionsPerConnection
        if held?.contains(customer) == true || (held?.count ?? 0) < limit { return true }
        counters.countSessionRefused()
        let minutes = Int((conversations.limits.idleHorizon / 60).rounded(.up))
        let error = "this connection already holds \(limit) sessions, the most one connection may; a session frees its place after \(minutes) minutes without a message. Open another connection for more customers"
        let object: [String: Any] = ["session": session, "customer": name, "error": error]
        outputs.append(GatewayOutput(connection: connection, bytes: Array((Self.json(object) + "\n").utf8), received: received))
        return false
    }

    /// Ends the conversations idle past the horizon: each records its end (unless a person
    /// has the case, which its ticket brings back), and its session leaves its connection.
    private func endIdleConversations(now: Date) {
        lastExpiry = now
        for ended in conversations.expire(now: now) {
            // A conversation that moved to another instance is not over.
            if ended.needsEnd, let shared, !shared.ended(ended.key) { continue }
            if ended.needsEnd {
                var event = ServiceEvent(kind: .conversationEnd, time: now)
                event.conversation = ended.conversation
                event.customer = ended.customer
                event.channel = ended.channel
                event.handedOff = ended.handedOff
                event.reason = .idle
                try? desk.events.record(event)
            }
            if let place = reach.removeValue(forKey: ended.key) { customersOn[place.connection]?.remove(ended.key) }
        }
    }

    // MARK: Conversations shared between instances

    /// Takes, in one round trip, the turns of the customers whose messages are in `slice`.
    private func takeTurns(of slice: ArraySlice<GatewayInput>) {
        guard let shared else { return }
        shared.take(slice.compactMap { input -> String? in
            switch input {
            case .customer(let connection, let speaker, _, _), .webMessage(let connection, let speaker, _, _, _):
                directory.key(for: speaker, on: connection)
            default:
                nil
            }
        })
    }

    /// Takes the customer's turn among the instances sharing conversations (see
    /// `SharedTurns`), bringing in the state another instance saved since. False when another
    /// instance is in the middle of the customer's turn: the input waits for the next tick
    /// (unless `retry` is false: an agent's command is not run twice).
    private func takeTurn(_ customer: String, now: Date, retry: Bool = true) -> Bool {
        switch shared?.take(customer) ?? .proceed {
        case .proceed:
            break
        case .busy:
            if retry, let currentInput { waitingForTurn.append(currentInput) }
            return false
        case .startAnew:
            conversations.remove(customer)
        case .adopt(let snapshot):
            _ = conversations.take(customer, kb: dialogue.kb)
            conversations.put(customer, snapshot.state(kb: dialogue.kb), now: now)
        }
        return true
    }

    /// Puts the conversation back, to be saved for the other instances when the slice ends.
    private func keep(_ customer: String, _ state: ConversationState, now: Date) {
        conversations.put(customer, state, now: now)
        shared?.keep(customer, state)
    }

    /// Tells the other instances sharing the queue (nothing on one machine).
    private func announce(_ kind: RelayNotice.Kind, _ ticket: String, agent: String? = nil) {
        guard let relay = desk.relay else { return }
        do { try relay.announce(RelayNotice(kind, ticket: ticket, origin: instance, agent: agent)) } catch {
            log.note("kefu serve: cannot tell the other instances about \(ticket) (\(error)); they see it with the next message or LIST")
        }
    }

    /// News from another instance for the customers and agents connected here.
    private func heard(_ notice: RelayNotice, now: Date) {
        guard notice.origin != instance, let t = (try? desk.tickets.ticket(notice.ticket)) ?? nil else { return }
        switch notice.kind {
        case .reply:
            deliverRelayed(t, now: now)
        case .handoff:
            notifyAgents(Self.newCaseLine(t))
        case .joined:
            if reach[t.customer] != nil, let agent = t.assignee { tellPersonJoined(t, agent: agent) }
        case .message:
            if let holder = t.assignee, let said = t.transcript.last(where: { $0.from == "customer" }) {
                notifyAgent(named: holder, "* MESSAGE \(t.id) \(oneLine(PrivacyMask.mask(said.text)))")
            }
        case .resolved:
            handBackToBot(t)
        case .transferred:
            if let to = t.assignee, let by = t.history.last(where: { $0.action == "transferred" })?.agent {
                notifyAgent(named: to, "* TRANSFERRED \(t.id) from \(by)")
            }
        case .transferredAway:
            if let holder = notice.agent, let to = t.assignee, let by = t.history.last(where: { $0.action == "transferred" })?.agent {
                notifyAgent(named: holder, "* TRANSFERRED \(t.id) to \(to) by \(by)")
            }
        case .released:
            if let holder = notice.agent, let by = t.history.last(where: { $0.action == "released" })?.agent {
                notifyAgent(named: holder, "* RELEASED \(t.id) by \(by)")
            }
        }
    }

    static func newCaseLine(_ t: Ticket) -> String {
        "* NEW \(t.id) \(t.priority) \(t.reason.rawValue) \(LineSanitizer.clean(t.summary))"
    }

    /// The customer's opening: a greeting, or what waits for them (an agent's replies, a
    /// request to rate a case a person resolved), after `notice` when there is one.
    private func greet(_ customer: String, on connection: Int, as speaker: Speaker, received: UInt64, now: Date, notice: String? = nil) {
        guard takeTurn(customer, now: now) else { return }
        place(customer, on: connection, as: speaker)
        var state = conversation(customer, channel: speaker.channel, now: now)
        let opening = (try? dialogue.opening(&state, now: now)) ?? nil
        keep(customer, state, now: now)
        let extra = reach[customer]?.web == true && opening != nil ? webState(state, reply: opening!) : [:]
        send(to: customer, (notice.map { [$0] } ?? []) + (opening?.shown ?? []), route: nil, topic: nil, ticket: state.ticket, received: received,
             extra: extra)
    }

    /// The ticket a resume code (by its hash) leads to, after reading what other processes
    /// wrote (`kefu agent` may have replied or resolved meanwhile).
    private func resumable(_ hash: String, now: Date) -> Ticket? {
        try? desk.tickets.refresh()
        return try? desk.tickets.resumable(codeHash: hash, now: now)
    }

    private func place(_ customer: String, on connection: Int, as speaker: Speaker) {
        switch speaker {
        case .plain: reach[customer] = Place(connection: connection, session: nil, name: nil)
        case .session(let session, let name, _): reach[customer] = Place(connection: connection, session: session, name: name)
        case .web(_, _, let name):
            // A web conversation is reached through its feed, whichever request or socket
            // is open: it belongs to no connection.
            reach[customer] = Place(connection: Self.noConnection, session: nil, name: name, web: true)
            return
        }
        customersOn[connection, default: []].insert(customer)
    }

    /// The customer's conversation, taken out of the table so that changing it does not copy
    /// its transcript (the caller puts it back).
    private func conversation(_ customer: String, channel: String, now: Date) -> ConversationState {
        if let state = conversations.take(customer, kb: dialogue.kb), state.stage != .closed { return state }
        var state = (try? dialogue.start(customer: customer, channel: channel, now: now))
            ?? ConversationState(customer: customer, channel: channel, started: now)
        state.offersResume = CustomerKey.needsResumeCode(customer)
        startedCount += 1
        return state
    }

    /// Sends reply lines to wherever the customer is connected now. A resume code is added
    /// here, for this reply only: it is never part of the conversation's lines.
    private func send(to customer: String, _ lines: [String], route: Route?, topic: String?, ticket: String?,
                      received: UInt64?, push: String? = nil, agent: String? = nil, resumeCode: ResumeCode? = nil, error: String? = nil,
                      extra: [String: Any] = [:]) {
        guard let place = reach[customer] else { return }
        let lines = lines.isEmpty ? [] : LineSanitizer.lines(lines.joined(separator: "\n"))  // an agent's text or name holds anything
        if place.web {
            // Quiet while an agent has the case: the request is answered with the customer's item alone.
            guard !lines.isEmpty || error != nil else { return }
            var fields = extra
            fields["route"] = route?.rawValue
            fields["topic"] = topic
            if let ticket { fields["ticket"] = ticket }
            fields["agent"] = agent.map(LineSanitizer.clean)
            let type = push ?? (error == nil ? "reply" : "notice")
            sendItem(to: customer, from: push == "agent_reply" ? "agent" : "bot", type: type,
                     text: error ?? lines.joined(separator: "\n"), received: received, fields: fields)
            return
        }
        let bytes: [UInt8]
        if lines.isEmpty && error == nil && resumeCode == nil {
            // The bot stays quiet while an agent has the case: a plain client still gets the
            // end-of-reply marker it waits for; a JSON client gets nothing.
            guard place.session == nil else { return }
            bytes = [0x0A]
        } else if let session = place.session {
            // Written field by field, keys in sorted order: `JSONSerialization` (dictionary,
            // bridging, sorting keys by locale) was 30% of the engine's time in a burst.
            var w = JSONObjectWriter()
            w.add("act", extra["act"] as? String)
            w.add("agent", agent.map(LineSanitizer.clean))
            w.add("customer", place.name ?? session)
            w.add("emotion", extra["emotion"] as? String)
            w.add("entry", extra["entry"] as? String)
            w.add("error", error)
            w.add("resume_code", resumeCode?.text)
            w.add("route", route?.rawValue)
            w.add("session", session)
            w.add("text", error == nil ? lines.joined(separator: "\n") : nil)
            w.add("ticket", ticket)
            w.add("topic", topic)
            w.add("type", push)
            var line = w.finish()
            line.append(0x0A)
            bytes = line
        } else {
            let shown = lines + (resumeCode.map { [IdentityNotice.resumeHint($0)] } ?? [])
            bytes = Array((shown.joined(separator: "\n") + "\n\n").utf8)
        }
        outputs.append(GatewayOutput(connection: place.connection, bytes: bytes, received: received))
    }

    /// One item of a web conversation, to its feed (the gateway numbers it); the reply to the
    /// request being answered when there is one.
    private func sendItem(to customer: String, from: String, type: String, text: String, received: UInt64?, fields: [String: Any]) {
        var object = fields
        object["from"] = from
        object["type"] = type
        object["text"] = text
        if object["state"] == nil {
            switch type {
            case "agent_joined", "agent_reply": object["state"] = "with_person"
            case "resolved": object["state"] = "rating"
            default: break
            }
        }
        let connection = replyingTo ?? Self.noConnection
        outputs.append(GatewayOutput(connection: connection, bytes: Array(Self.json(object).utf8), received: received,
                                     feed: customer, answers: replyingToMessage))
    }

    /// Where a web conversation stands after a reply, for the chat page: the bot serves,
    /// the customer waits in the queue (with position and wait), a person has the case, or a
    /// rating is asked; and the labels of numbered choices, so they can be buttons.
    private func webState(_ state: ConversationState, reply: Reply) -> [String: Any] {
        var fields: [String: Any] = [:]
        switch state.stage {
        case .withPerson(let id):
            fields["ticket"] = id
            if let ticket = try? desk.tickets.ticket(id), ticket.state == .waiting {
                let position = max(1, (try? desk.tickets.position(of: id)) ?? 0)
                fields["state"] = "queued"
                fields["position"] = position
                fields["wait"] = ReplyComposer(kb: dialogue.kb).speaking(state.language)
                    .describeWait(Double(position) * ((try? desk.tickets.typicalWait()) ?? TicketStore.defaultWait))
            } else {
                fields["state"] = "with_person"
            }
        case .rating: fields["state"] = "rating"
        case .choosing:
            fields["state"] = "bot"
            let choices = reply.lines.compactMap(Self.choiceLabel)
            if !choices.isEmpty { fields["choices"] = choices }
        default: fields["state"] = "bot"
        }
        return fields
    }

    /// 「2. 信用卡：怎么激活」 → 「信用卡：怎么激活」; nil for a line that is not a numbered choice.
    static func choiceLabel(_ line: String) -> String? {
        let digits = line.prefix(while: \.isNumber)
        guard !digits.isEmpty, digits.count <= 2 else { return nil }
        let rest = line.dropFirst(digits.count)
        guard rest.hasPrefix(". ") else { return nil }
        return String(rest.dropFirst(2))
    }

    // MARK: Agents

    private func agentCommand(connection: Int, line: String, received: UInt64, now: Date) {
        let parsed = AgentRequest.parse(line)
        func answer(_ text: String, close: Bool = false) {
            outputs.append(GatewayOutput(connection: connection, bytes: LineSanitizer.wire(text), close: close, received: received))
        }
        if case .success(.quit) = parsed { answer("OK bye", close: true); return }
        if let waiting = loginsInFlight[connection] {
            // Its AUTH is being checked: what follows waits, so the answers keep their order.
            guard waiting.count < Self.maxLinesAwaitingLogin else {
                answer("ERR too many lines before the login was answered; wait for the answer to AUTH", close: true)
                return
            }
            loginsInFlight[connection]?.append((line, received))
            return
        }
        guard let session = agents[connection] else {
            let verb = AgentRequest.verb(of: line)
            guard verb == "AUTH" else {
                log.note("kefu serve: agent connection \(connection) sent \(verb.prefix(16)) before AUTH")
                answer("ERR authenticate first: AUTH <name> <password>")
                return
            }
            switch parsed {
            case .success(.auth(let name, let password)):
                loginsInFlight[connection] = []
                authenticator.submit(.init(connection: connection, name: name, password: password,
                                           address: agentAddresses[connection] ?? "unknown"))
            case .failure(let problem): answer(problem.answer)
            case .success: break
            }
            return
        }
        let request: AgentRequest
        switch parsed {
        case .failure(let problem): answer(problem.answer); return
        case .success(let r): request = r
        }
        // The desk changes the ticket and records the action; here it is answered in the
        // protocol's words and told to whoever else is concerned.
        let agent = session.name
        let work = AgentDesk(desk: desk, agent: agent, role: session.role)
        do {
            switch request {
            case .auth, .quit:
                answer("ERR already authenticated as \(agent)")
            case .list:
                let queue = try work.list()
                var text = "OK \(queue.count)\n"
                for t in queue { text += Self.json(TicketJSON.listing(t, now: now)) + "\n" }
                answer(text + ".")
            case .show(let id):
                guard let t = try work.show(id) else { throw TicketError.unknown(id) }
                answer("OK\n" + Self.json(TicketJSON.full(t, now: now, unmasked: work.seesUnmasked(t))) + "\n.")
            case .claim(let id):
                let t = try work.claim(id, now: now)
                answer("OK \(t.id) claimed")
                personJoined(t, agent: agent)
            case .next:
                if let t = try work.next(now: now) {
                    answer("OK \(t.id) claimed \(t.reason.rawValue) \(oneLine(t.summary))")
                    personJoined(t, agent: agent)
                } else {
                    answer("OK none waiting")
                }
            case .reply(let id, let text):
                let t = try work.reply(id, text: text, now: now)
                webhook(.agentReply, t, agent: agent, text: text, now: now)
                if reach[t.customer] != nil {
                    send(to: t.customer, ["[人工客服 \(agent)] \(text)"], route: nil, topic: nil, ticket: id, received: nil, push: "agent_reply", agent: agent)
                    try desk.tickets.markDelivered(id, count: t.agentReplies.count, now: now)
                    answer("OK delivered")
                } else if let relay = desk.relay {
                    try relay.announce(RelayNotice(.reply, ticket: id, origin: instance))
                    answer("OK relayed; the instance the customer is connected to delivers it, else they see it on return")
                } else {
                    answer("OK recorded; the customer is not connected and sees it on return")
                }
            case .note(let id, let text):
                try work.note(id, text: text, now: now)
                answer("OK")
            case .transfer(let id, let to):
                let moved = try work.transfer(id, to: to, now: now)
                if !notifyAgent(named: to, "* TRANSFERRED \(id) from \(agent)") { announce(.transferred, id) }
                if let holder = moved.holderToTell, !notifyAgent(named: holder, "* TRANSFERRED \(id) to \(to) by \(agent)") {
                    announce(.transferredAway, id, agent: holder)
                }
                answer("OK \(id) transferred to \(to)")
            case .release(let id):
                let released = try work.release(id, now: now)
                if let holder = released.holderToTell, !notifyAgent(named: holder, "* RELEASED \(id) by \(agent)") {
                    announce(.released, id, agent: holder)
                }
                answer("OK")
            case .resolve(let id, let note):
                let t = try work.resolve(id, note: note, now: now)
                webhook(.resolved, t, agent: agent, now: now)
                answer("OK \(id) resolved")
                handBackToBot(t)
            case .stats:
                try desk.tickets.refresh()  // the queue as `kefu agent` in other processes left it
                answer("OK " + Self.json(stats()))
            }
        } catch let error as TicketError {
            answer("ERR \(error.description)")
        } catch {
            answer("ERR \(error)")
        }
    }

    /// The authenticator's answer to an `AUTH`: the session starts, taking over the agent's
    /// session on another connection, or the refusal is sent; then the lines that waited run.
    /// The answer carries no `received` time: a password check is slow on purpose and is not
    /// the reply latency `STATS` reports.
    private func finishLogin(_ result: AgentAuthenticator.Result, now: Date) {
        let connection = result.connection
        guard let waiting = loginsInFlight.removeValue(forKey: connection) else { return }  // gone meanwhile
        func answer(_ text: String, close: Bool = false) {
            outputs.append(GatewayOutput(connection: connection, bytes: Array((text + "\n").utf8), close: close))
        }
        switch result.outcome {
        case .accepted(let role):
            authFailures[connection] = nil
            let session = AgentSessions.Session(name: result.name, role: role, address: result.address)
            if let previous = agents.login(session, on: connection) {
                outputs.append(GatewayOutput(connection: previous, bytes: Array("* TAKEN-OVER \(result.name) logged in again from \(result.address); this connection is closed\n".utf8), close: true))
                log.note("kefu serve: agent \(result.name) logged in from \(result.address), taking over agent connection \(previous)")
            }
            answer("OK welcome \(result.name)")
        case .refused(let line):
            let failures = (authFailures[connection] ?? 0) + 1
            authFailures[connection] = failures
            answer(line, close: failures >= Self.maxAuthFailures)
            if failures >= Self.maxAuthFailures { return }
        }
        for (line, received) in waiting { agentCommand(connection: connection, line: line, received: received, now: now) }
    }

    /// Tells the customer a person has joined (live relay starts).
    /// An agent on another instance replied to a customer who may be connected here: the
    /// replies they have not seen go out now, read from the ticket.
    private func deliverRelayed(_ t: Ticket, now: Date) {
        let id = t.id
        guard reach[t.customer] != nil, t.agentReplies.count > t.deliveredReplies else { return }
        for line in t.agentReplies.dropFirst(t.deliveredReplies) {
            let agent = String(line.from.dropFirst("agent:".count))
            send(to: t.customer, ["[人工客服 \(agent)] \(line.text)"], route: nil, topic: nil, ticket: id, received: nil, push: "agent_reply", agent: agent)
        }
        try? desk.tickets.markDelivered(id, count: t.agentReplies.count, now: now)
    }

    private func personJoined(_ t: Ticket, agent: String) {
        webhook(.agentJoined, t, agent: agent, now: Date())
        if reach[t.customer] != nil { tellPersonJoined(t, agent: agent) } else { announce(.joined, t.id) }
    }

    private func tellPersonJoined(_ t: Ticket, agent: String) {
        send(to: t.customer, ["人工客服 \(agent) 已接入，正在为您服务。"], route: nil, topic: nil, ticket: t.id, received: nil, push: "agent_joined", agent: agent)
    }

    /// After resolve, the bot takes the conversation back and asks for a rating.
    private func handBackToBot(_ t: Ticket) {
        guard reach[t.customer] != nil else { return announce(.resolved, t.id) }
        let now = Date()
        guard conversations.contains(t.customer), takeTurn(t.customer, now: now, retry: false), var state = conversations.take(t.customer, kb: dialogue.kb) else { return }
        guard case .withPerson = state.stage else { keep(t.customer, state, now: now); return }
        state.stage = .rating(ticket: t.id)
        state.ratingAsked = true
        keep(t.customer, state, now: now)
        let phrases = ReplyComposer(kb: dialogue.kb)
        send(to: t.customer, [phrases.phrase("person_resolved", ["ticket": t.id]), phrases.phrase("rating")],
             route: nil, topic: nil, ticket: t.id, received: nil, push: "resolved")
    }

    /// Queues a webhook about `t` (written with this batch's events), when `--webhook` is given.
    private func webhook(_ kind: WebhookEvent.Kind, _ t: Ticket, agent: String? = nil, text: String? = nil, rating: Int? = nil, now: Date) {
        webhooks?.enqueue(WebhookEvent(kind, ticket: t, time: now, agent: agent, text: text, rating: rating))
    }

    /// The case a rating in the next message would be for, while it has none (the dialogue
    /// rates the conversation's ticket): for the `rating` webhook.
    private func unratedTicket(_ state: ConversationState) -> String? {
        guard webhooks != nil else { return nil }
        var id = state.ticket
        if case .rating(let rated?) = state.stage { id = rated }
        guard let id, let t = try? desk.tickets.ticket(id), t.rating == nil else { return nil }
        return id
    }

    private func notifyAgents(_ line: String) {
        for connection in agents.connections { outputs.append(GatewayOutput(connection: connection, bytes: LineSanitizer.wire(line))) }
    }

    /// False when the agent is not connected here.
    @discardableResult
    private func notifyAgent(named name: String, _ line: String) -> Bool {
        guard let connection = agents.connection(named: name) else { return false }
        outputs.append(GatewayOutput(connection: connection, bytes: LineSanitizer.wire(line)))
        return true
    }

    private func stats() -> [String: Any] {
        let (customers, agentCount, messages) = counters.snapshot()
        let latency = counters.latencyPercentiles()
        let waiting = ((try? desk.tickets.queue()) ?? []).filter { $0.state == .waiting }.count
        let containment = startedCount == 0 ? 1.0 : 1 - Double(handoffCount) / Double(startedCount)
        let logins = authenticator.figures()
        return ["connections": ["customers": customers, "agents": agentCount], "messages": messages,
                "p50_reply_ms": latency.p50, "p99_reply_ms": latency.p99, "handoffs_waiting": waiting,
                "conversations": startedCount, "containment": containment,
                "conversations_live": conversations.liveCount, "conversations_on_disk": conversations.spilledCount,
                "evictions": conversations.evictions, "restored": conversations.restored, "ended_idle": conversations.endedIdle,
                "sessions_refused": counters.sessionsRefused, "accept_failures": counters.acceptFailures,
                "unrecorded_events": counters.unrecorded.count, "unrecorded_since": counters.unrecorded.since.map(Timestamp.format) ?? NSNull(),
                "logins": logins.logins, "auth_failures": logins.failures, "auth_throttled": logins.throttled, "lockouts": logins.lockouts,
                "webhooks_pending": webhooks?.pendingCount ?? 0, "webhooks_failed_urls": webhooks?.failingCount ?? 0]
    }

    /// Content that may hold line breaks of its own (a summary, a customer's message), made one line.
    private func oneLine(_ s: String) -> String { LineSanitizer.clean(s) }

    /// One JSON object or array, keys sorted, on one line (U+2028, U+2029 and C1 controls escaped).
    static func json(_ object: Any) -> String { JSONValue.line(object) }
}
