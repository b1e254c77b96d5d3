import Foundation

/// The conversation policy: follows the service process (contact, need identification,
/// service, follow-up), answers what it can, and hands the rest to a person with the
/// context attached.
///
/// A `Dialogue` holds no conversation of its own: each call gets the customer's
/// `ConversationState` and returns it changed, so one `Dialogue` serves any number of
/// customers. Tickets are written and synced before a reply names them.
public struct Dialogue: Sendable {
    public let kb: KnowledgeBase
    public let desk: ServiceDesk
    let composer: ReplyComposer
    let hours: ServiceHours

    public init(kb: KnowledgeBase, desk: ServiceDesk) {
        self.kb = kb
        self.desk = desk
        composer = ReplyComposer(kb: kb)
        hours = ServiceHours(kb.company)
    }

    /// A new conversation for `customer`, picking up a case that is still with a person,
    /// or one a person resolved while the customer was away (then the bot asks for a rating).
    public func start(customer: String, channel: String, now: Date) throws -> ConversationState {
        var state = ConversationState(customer: customer, channel: channel, started: now)
        try desk.tickets.refresh()
        if let open = desk.tickets.openTicket(customer: customer) {
            state = ConversationState(customer: customer, channel: channel, started: now, id: open.conversation)
            state.stage = .withPerson(open.id)
            state.ticket = open.id
            state.greeted = true
        } else if let last = desk.tickets.latestTicket(customer: customer), last.rating == nil,
                  let resolved = last.resolvedAt, now.timeIntervalSince(resolved) < Ticket.followUpWindow {
            state = ConversationState(customer: customer, channel: channel, started: now, id: last.conversation)
            state.stage = .rating(ticket: last.id)
            state.ticket = last.id
            state.greeted = true
        } else {
            var event = ServiceEvent(kind: .conversationStart, time: now)
            event.conversation = state.id
            event.customer = customer
            event.channel = channel
            try desk.events.record(event)
        }
        return state
    }

    /// What the bot says first on an interactive channel, before the customer writes.
    public func opening(_ state: inout ConversationState, now: Date) throws -> Reply? {
        switch state.stage {
        case .withPerson(let id):
            return try caseWithPerson(id, state: &state, customerText: nil, now: now)
        case .rating(let ticket):
            state.ratingAsked = true
            return Reply(lines: [composer.phrase("person_resolved", ["ticket": ticket ?? ""]), composer.phrase("rating")], route: nil)
        default:
            state.greeted = true
            return Reply(lines: [composer.phrase("greeting")], route: nil)
        }
    }

    /// The reply to one customer message.
    public func respond(to text: String, in state: inout ConversationState, now: Date) throws -> Reply {
        if state.stage == .closed {
            state = try start(customer: state.customer, channel: state.channel, now: now)
        }
        let normalized = kb.classifier.normalizer.normalize(text)
        state.transcript.append(TranscriptLine(time: now, from: "customer", text: text))
        var reply = try reply(to: normalized, state: &state, now: now)
        if !state.greeted {
            state.greeted = true
            if reply.topic != "greeting" && reply.route != .handoff { reply.lines.insert(greetingPrefix(), at: 0) }
        }
        for line in reply.lines { state.transcript.append(TranscriptLine(time: now, from: "bot", text: line)) }
        // The agent sees what the bot said too, the handoff message included.
        if case .withPerson(let id) = state.stage {
            for line in reply.lines { try desk.tickets.addBotLine(id, text: line, now: now) }
        }
        return reply
    }

    private func greetingPrefix() -> String {
        "您好，我是\(kb.company["company_name"].map { $0 + "的" } ?? "")智能客服。"
    }

    private func reply(to n: NormalizedText, state: inout ConversationState, now: Date) throws -> Reply {
        // Understood at most once per message, and only when a stage needs it.
        var understood: Understanding?
        let understanding = { () -> Understanding in
            if let u = understood { return u }
            let u = kb.understand(n)
            understood = u
            return u
        }
        switch state.stage {
        case .withPerson(let id):
            return try caseWithPerson(id, state: &state, customerText: n.original, now: now)
        case .rating(let ticket):
            if let score = ControlReplies.rating(n) { return try rate(score, ticket: ticket, state: &state, now: now) }
            if !state.ratingAsked, let ticket {
                // Back after a person resolved the case: say so before asking for the rating.
                state.ratingAsked = true
                return Reply(lines: [composer.phrase("person_resolved", ["ticket": ticket]), composer.phrase("rating")], route: nil,
                             rule: "the agent resolved the case while the customer was away → ask for a rating")
            }
            let u = understanding()
            if kb.route(u).route == .fallback || ControlReplies.isNothingElse(n) || ControlReplies.isNo(n) {
                return Reply(lines: [composer.phrase("rating_again")], route: nil)
            }
            state.stage = .open  // a new question instead of a rating
        case .choosing(let offered):
            if let picked = pick(n, among: offered, understanding: understanding) {
                state.stage = .open
                return try answer(kb.entries[kb.entryIndex[picked]!], understanding: nil, state: &state, now: now, rule: "the customer chose \(picked)")
            }
            state.stage = .open
        case .offeringPerson(let reason):
            state.stage = .open
            if ControlReplies.isYes(n) { return try handOff(reason, understanding: nil, state: &state, now: now, rule: "the customer accepted a person") }
            if ControlReplies.isNo(n) {
                state.misunderstandings = 0
                return Reply(lines: [composer.phrase("declined_person")], route: nil)
            }
        case .collectingFacts(let reason):
            state.stage = .open
            state.facts.append(PrivacyMask.mask(n.original))
            let u = understanding()
            try record(u, decision: RouteDecision(route: .handoff, reason: reason, rule: "facts for the complaint"), state: &state, now: now)
            return try handOff(reason, understanding: u, state: &state, now: now, rule: "complaint facts collected")
        case .open, .closed:
            break
        }
        return try serve(n, understanding: understanding(), state: &state, now: now)
    }

    /// A message in the open stage: understand it, route it, act.
    private func serve(_ n: NormalizedText, understanding u: Understanding, state: inout ConversationState, now: Date) throws -> Reply {
        if !state.lastCandidates.isEmpty && ControlReplies.isNotHelped(n) {
            // Logged against the topic that did not help, so reports can count it against
            // first-contact resolution.
            let previousTopic = state.lastCandidates.first?.topic
            let reply = try notHelped(state: &state, now: now)
            var event = messageEvent(u, route: reply.route ?? .clarify, state: state, now: now)
            event.topic = previousTopic
            event.reason = HandoffReason.notHelped.rawValue
            try desk.events.record(event)
            return reply
        }
        let askedAnythingElse = state.askedAnythingElse
        state.askedAnythingElse = false
        if !state.answered.isEmpty && askedAnythingElse && ControlReplies.isNothingElse(n) {
            var event = messageEvent(u, route: .answer, state: state, now: now)
            event.topic = "thanks"
            try desk.events.record(event)
            return askForRating(state: &state, rule: "the customer has nothing else")
        }
        let decision = kb.route(u)
        try record(u, decision: decision, state: &state, now: now)
        if state.topic == nil, decision.route != .fallback { state.topic = u.topic }

        switch decision.route {
        case .handoff:
            let reason = decision.reason ?? .requested
            if reason == .complaint && !state.askedForFacts && u.emotion.level == .calm && !hasFacts(n) {
                state.askedForFacts = true
                state.stage = .collectingFacts(reason)
                return Reply(lines: [composer.phrase("complaint_facts")], route: .clarify, topic: u.topic, reason: reason,
                             rule: decision.rule + "; calm complaint without details → ask once what happened")
            }
            return try handOff(reason, understanding: u, state: &state, now: now, rule: decision.rule)
        case .answer:
            let entry = kb.entries[u.candidates[0].entryIndex]
            if entry.topic == "thanks" || entry.topic == "goodbye" {
                if !state.answered.isEmpty { return askForRating(state: &state, rule: decision.rule + "; the customer is closing") }
                return Reply(lines: [composer.phrase(entry.topic == "thanks" ? "thanks_reply" : "closing")], route: .answer, topic: entry.topic, rule: decision.rule)
            }
            if entry.topic == "greeting" {
                state.greeted = true
                return Reply(lines: [composer.phrase("greeting")], route: .answer, topic: "greeting", rule: decision.rule)
            }
            state.lastCandidates = u.candidates
            state.tried = []
            return try answer(entry, understanding: u, state: &state, now: now, rule: decision.rule)
        case .clarify:
            state.misunderstandings = 0
            var offered: [String] = []
            for c in u.candidates where c.topic != KnowledgeBase.outOfScopeTopic && !offered.contains(c.entryID) && c.probability >= kb.thresholds.floor / 2 {
                offered.append(c.entryID)
                if offered.count == 3 { break }
            }
            if offered.count < 2 {
                offered = Array(u.candidates.filter { $0.topic != KnowledgeBase.outOfScopeTopic }.prefix(2).map(\.entryID))
            }
            state.stage = .choosing(offered)
            state.lastCandidates = u.candidates
            return Reply(lines: composer.choices(offered), route: .clarify, topic: u.topic, rule: decision.rule)
        case .fallback:
            state.misunderstandings += 1
            if state.misunderstandings >= 2 {
                state.stage = .offeringPerson(.repeatedFailure)
                return Reply(lines: [composer.phrase("offer_person")], route: .fallback, topic: KnowledgeBase.outOfScopeTopic,
                             rule: decision.rule + "; second misunderstanding in a row → offer a person")
            }
            return Reply(lines: [composer.phrase("fallback"), composer.capabilities()], route: .fallback,
                         topic: KnowledgeBase.outOfScopeTopic, rule: decision.rule)
        }
    }

    private func answer(_ entry: CompiledEntry, understanding: Understanding?, state: inout ConversationState, now: Date, rule: String) throws -> Reply {
        state.misunderstandings = 0
        state.tried.append(entry.id)
        state.answered.append(entry.id)
        if entry.alwaysHandOff {
            return try handOff(kb.topics[entry.topic]?.handoffReason ?? .requested, understanding: understanding, state: &state, now: now, rule: rule)
        }
        var lines = [composer.answer(entry, conversation: state.id)]
        lines += composer.related(entry)
        lines.append(composer.phrase("confirm") + composer.phrase("anything_else"))
        state.askedAnythingElse = true
        return Reply(lines: lines, route: .answer, topic: entry.topic, rule: rule)
    }

    /// 「没用」: the next candidate not yet tried, else offer a person.
    private func notHelped(state: inout ConversationState, now: Date) throws -> Reply {
        if let next = state.lastCandidates.first(where: { !state.tried.contains($0.entryID) && $0.topic != KnowledgeBase.outOfScopeTopic
            && $0.probability >= kb.thresholds.floor / 4 && !["greeting", "thanks", "goodbye"].contains($0.topic) }) {
            var reply = try answer(kb.entries[next.entryIndex], understanding: nil, state: &state, now: now, rule: "not helped → next candidate \(next.entryID)")
            reply.lines.insert(composer.phrase("not_helped"), at: 0)
            return reply
        }
        state.stage = .offeringPerson(.notHelped)
        return Reply(lines: [composer.phrase("offer_person")], route: .clarify, rule: "not helped and no other candidate → offer a person")
    }

    private func askForRating(state: inout ConversationState, rule: String) -> Reply {
        state.stage = .rating(ticket: state.ticket)
        state.ratingAsked = true
        return Reply(lines: [composer.phrase("thanks_reply"), composer.phrase("rating")], route: .answer, topic: "thanks", rule: rule)
    }

    private func rate(_ score: Int, ticket: String?, state: inout ConversationState, now: Date) throws -> Reply {
        if let ticket { try? desk.tickets.rate(ticket, score: score, now: now) }
        var event = ServiceEvent(kind: .rating, time: now)
        event.conversation = state.id
        event.customer = state.customer
        event.ticket = ticket
        event.score = score
        try desk.events.record(event)
        try close(state: &state, now: now)
        return Reply(lines: [composer.phrase("rating_thanks") + composer.phrase("closing")], route: .answer, topic: "satisfaction_feedback",
                     rule: "rating \(score) recorded")
    }

    private func close(state: inout ConversationState, now: Date) throws {
        var event = ServiceEvent(kind: .conversationEnd, time: now)
        event.conversation = state.id
        event.customer = state.customer
        event.channel = state.channel
        event.handedOff = state.ticket != nil
        try desk.events.record(event)
        state.stage = .closed
    }

    /// A message while a person has the case: pass it on, show what the agent wrote.
    private func caseWithPerson(_ id: String, state: inout ConversationState, customerText: String?, now: Date) throws -> Reply {
        try desk.tickets.refresh()
        guard let ticket = desk.tickets.ticket(id) else {
            state.stage = .open
            return Reply(lines: [composer.phrase("fallback")], route: .fallback)
        }
        var lines: [String] = []
        let replies = ticket.agentReplies
        for line in replies.dropFirst(ticket.deliveredReplies) {
            lines.append("[人工客服 \(line.from.dropFirst("agent:".count))] \(line.text)")
        }
        if replies.count > ticket.deliveredReplies { try desk.tickets.markDelivered(id, count: replies.count, now: now) }
        if ticket.state == .resolved {
            if let customerText { try desk.tickets.addCustomerMessage(id, line: TranscriptLine(time: now, from: "customer", text: customerText), turn: nil, now: now) }
            state.stage = .rating(ticket: id)
            state.ratingAsked = true
            lines += [composer.phrase("person_resolved", ["ticket": id]), composer.phrase("rating")]
            return Reply(lines: lines, route: nil, rule: "the agent resolved the case → ask for a rating")
        }
        if let customerText {
            let u = kb.understand(customerText)
            let turn = turnRecord(u, route: .handoff, now: now)
            try desk.tickets.addCustomerMessage(id, line: TranscriptLine(time: now, from: "customer", text: customerText), turn: turn, now: now)
            var event = messageEvent(u, route: .handoff, state: state, now: now)
            event.ticket = id
            try desk.events.record(event)
        }
        lines.append(composer.phrase("with_person", ["ticket": id]))
        return Reply(lines: lines, route: .handoff, rule: "the case is with a person: the bot does not answer over the agent")
    }

    /// Opens a ticket (written and synced), then tells the customer its number.
    private func handOff(_ reason: HandoffReason, understanding u: Understanding?, state: inout ConversationState, now: Date, rule: String) throws -> Reply {
        let topic = state.topic ?? u?.topic ?? "human_agent"
        let code = state.offersResume ? ResumeCode.generate() : nil
        let draft = TicketDraft(conversation: state.id, customer: state.customer, channel: state.channel, reason: reason, topic: topic,
                                summary: summary(reason: reason, topic: topic, state: state, emotion: u?.emotion),
                                facts: state.facts, transcript: state.transcript, turns: state.turns, resumeHash: code?.hash)
        let ticket = try desk.tickets.open(draft, now: now)
        state.ticket = ticket.id
        state.stage = .withPerson(ticket.id)
        var event = ServiceEvent(kind: .handoff, time: now)
        event.conversation = state.id
        event.customer = state.customer
        event.channel = state.channel
        event.reason = reason.rawValue
        event.ticket = ticket.id
        event.topic = topic
        try desk.events.record(event)

        var lines: [String] = []
        switch reason {
        case .safety: lines += [composer.phrase("safety_advice")]
        case .money: lines += [composer.phrase("empathy"), composer.phrase("money_advice")]
        case .complaint, .emotion, .threat, .notHelped, .repeatedFailure: lines += [composer.phrase("apology")]
        case .requested: break
        }
        if hours.isOpen(at: now) {
            let position = max(1, desk.tickets.position(of: ticket.id))
            let wait = Double(position) * desk.tickets.typicalWait()
            lines.append(composer.phrase("handoff", ["ticket": ticket.id, "position": String(position), "wait": ReplyComposer.describeWait(wait)]))
        } else {
            lines.append(composer.phrase("handoff_after_hours", ["ticket": ticket.id]))
        }
        return Reply(lines: lines, route: .handoff, topic: topic, reason: reason, ticket: ticket, rule: rule, resumeCode: code)
    }

    /// One paragraph for the agent: topic, what the customer wants, what the bot answered, facts.
    private func summary(reason: HandoffReason, topic: String, state: ConversationState, emotion: EmotionReading?) -> String {
        let topicName = kb.topics[topic]?.name ?? topic
        let asked = state.transcript.filter { $0.from == "customer" }.map(\.text)
        var text = "客户 \(state.customer)（\(state.channel)）关于「\(topicName)」转人工，原因：\(Self.reasonName[reason] ?? reason.rawValue)。"
        if let first = asked.first { text += "客户首先说：「\(first)」" }
        if asked.count > 1, let last = asked.last { text += "，最近一句：「\(last)」" }
        text += "。"
        if !state.answered.isEmpty {
            var seen = Set<String>()
            let answered = state.answered.filter { seen.insert($0).inserted }  // each entry once, in order
            text += "机器人已答复：" + answered.map { id in kb.entryIndex[id].flatMap { kb.entries[$0].entry.questions.first?.text }.map { "「\($0)」" } ?? id }.joined(separator: "、") + "。"
        } else {
            text += "机器人尚未给出答复。"
        }
        if !state.facts.isEmpty { text += "客户补充：" + state.facts.joined(separator: "；") + "。" }
        if let e = emotion, e.level != .calm { text += "客户情绪：\(e.level.rawValue)（\(String(format: "%.2f", e.score))）。" }
        return PrivacyMask.mask(text)
    }

    static let reasonName: [HandoffReason: String] = [
        .requested: "客户要求人工", .complaint: "投诉", .emotion: "情绪激动", .threat: "投诉升级（12315/律师/媒体等）",
        .safety: "人身安全风险", .money: "资金损失", .repeatedFailure: "机器人多次未能理解", .notHelped: "机器人答复未解决问题",
    ]

    /// A complaint that already says what happened: long enough, or with a number or time in it.
    private func hasFacts(_ n: NormalizedText) -> Bool {
        n.scalars.count >= 14 || n.scalars.contains { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// A choice among offered entries: a number, or words that fit one of them best.
    private func pick(_ n: NormalizedText, among offered: [String], understanding: () -> Understanding) -> String? {
        if let number = ControlReplies.choice(n, count: offered.count) { return offered[number - 1] }
        guard n.scalars.count <= 12 else { return nil }
        let u = understanding()
        let best = u.ranking.allClasses.first { offered.contains(kb.classifier.labels[$0.classIndex]) }
        guard let best, best.probability >= 0.05 else { return nil }
        return kb.classifier.labels[best.classIndex]
    }

    private func turnRecord(_ u: Understanding, route: Route, now: Date) -> TurnRecord {
        TurnRecord(time: now, topic: u.topic, confidence: Double(u.top?.probability ?? 0),
                   candidates: u.candidates.prefix(3).map { .init(entry: $0.entryID, topic: $0.topic, confidence: (Double($0.probability) * 1000).rounded() / 1000) },
                   emotionScore: Double(u.emotion.score), emotionLevel: u.emotion.level.rawValue, route: route.rawValue)
    }

    private func messageEvent(_ u: Understanding, route: Route, state: ConversationState, now: Date) -> ServiceEvent {
        var event = ServiceEvent(kind: .message, time: now)
        event.conversation = state.id
        event.customer = state.customer
        event.channel = state.channel
        event.text = u.normalized.original
        event.route = route.rawValue
        event.topic = route == .fallback ? KnowledgeBase.outOfScopeTopic : u.topic
        event.entry = u.top?.entryID
        event.confidence = Double(u.top?.probability ?? 0)
        event.emotionScore = Double(u.emotion.score)
        event.emotionLevel = u.emotion.level.rawValue
        return event
    }

    /// Keeps the turn for the ticket and writes the message event.
    private func record(_ u: Understanding, decision: RouteDecision, state: inout ConversationState, now: Date) throws {
        state.turns.append(turnRecord(u, route: decision.route, now: now))
        try desk.events.record(messageEvent(u, route: decision.route, state: state, now: now))
    }
}
