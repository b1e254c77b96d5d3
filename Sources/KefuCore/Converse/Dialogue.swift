import Foundation

/// The conversation policy: follows the service process (contact, need identification,
/// service, follow-up), answers what it can, and hands the rest to a person with the
/// context attached.
///
/// Each message is read in a fixed order of precedence (written down in `Intents/acts.txt`):
/// danger to a person first, in any state; then a request for a person; then withdrawing
/// (a complaint, a place in the queue); then "that did not help"; then the reply the current
/// step expects (a choice, yes or no to a person, a rating, an acknowledgement after an
/// answer); and only then the topic classifier.
///
/// A `Dialogue` holds no conversation of its own: each call gets the customer's
/// `ConversationState` and returns it changed, so one `Dialogue` serves any number of
/// customers. Tickets are written and synced before a reply names them.
public struct Dialogue: Sendable {
    public let kb: KnowledgeBase
    public let desk: ServiceDesk
    let composer: ReplyComposer
    let hours: ServiceHours
    /// Without an agent message for this long, a customer writing to a live agent is told
    /// once that the agent is still on it.
    public static let agentAwayAfter: TimeInterval = 180

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
        if let open = try desk.tickets.openTicket(customer: customer) {
            state = ConversationState(customer: customer, channel: channel, started: now, id: open.conversation)
            state.stage = .withPerson(open.id)
            state.ticket = open.id
            state.greeted = true
        } else if let last = try desk.tickets.latestTicket(customer: customer), last.rating == nil,
                  let resolved = last.resolvedAt, now.timeIntervalSince(resolved) < Ticket.followUpWindow,
                  last.history.last?.action != "withdrawn" {
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
        let composer = composer.speaking(state.language)
        switch state.stage {
        case .withPerson(let id):
            return try caseWithPerson(id, state: &state, message: nil, now: now)
        case .rating(let ticket):
            state.ratingAsked = true
            return Reply(lines: [composer.phrase("person_resolved", ["ticket": ticket ?? ""]), composer.phrase("rating")], route: .answer)
        default:
            state.greeted = true
            return Reply(lines: [composer.phrase("greeting")], route: .answer, topic: "greeting")
        }
    }

    /// The reply to one customer message.
    public func respond(to text: String, in state: inout ConversationState, now: Date) throws -> Reply {
        if state.stage == .closed {
            state = try start(customer: state.customer, channel: state.channel, now: now)
        }
        let normalized = kb.classifier.normalizer.normalize(text)
        state.language = Self.language(of: text, previous: state.language)
        state.transcript.append(TranscriptLine(time: now, from: "customer", text: text))
        state.turnCount += 1
        let message = MessageReading(normalized, kb: kb)
        var reply = try reply(to: message, state: &state, now: now)
        reply.acts = message.acts?.acts ?? []
        reply.emotion = message.understood?.emotion.level
        if reply.route == .answer, let top = message.understood?.top, top.topic == reply.topic { reply.entry = top.entryID }
        if !state.greeted {
            state.greeted = true
            // One greeting per conversation: the short self-introduction replaces an answer's own 「您好，」.
            if reply.topic != "greeting" && reply.route != .handoff && !reply.lines.isEmpty {
                if state.language == .zh { reply.lines[0] = Self.withoutOpeningHello(reply.lines[0]) }
                reply.lines.insert(greetingPrefix(state.language), at: 0)
            }
        }
        for line in reply.lines { state.transcript.append(TranscriptLine(time: now, from: "bot", text: line)) }
        // The agent sees what the bot said too, the handoff message included.
        if case .withPerson(let id) = state.stage {
            for line in reply.lines { try desk.tickets.addBotLine(id, text: line, now: now) }
        }
        return reply
    }

    /// English when the message is English; a message with no letters at all (「5」, 「？」)
    /// keeps the conversation's language.
    static func language(of text: String, previous: TextLanguage) -> TextLanguage {
        let hasLetters = text.unicodeScalars.contains { ($0.value | 0x20) >= 0x61 && ($0.value | 0x20) <= 0x7A || CompanyProfile.isHan($0) }
        return hasLetters ? TextLanguage.of(text) : previous
    }

    private func greetingPrefix(_ language: TextLanguage) -> String {
        if language == .en { return "Hello, I'm the virtual assistant of \(kb.company.inEnglish["company_name"] ?? "the service centre")." }
        return "您好，我是\(kb.company["company_name"].map { $0 + "的" } ?? "")智能客服。"
    }

    private func reply(to message: MessageReading, state: inout ConversationState, now: Date) throws -> Reply {
        let composer = composer.speaking(state.language)
        let n = message.n, acts = message.acts

        // 1. Danger to a person, in any state.
        if acts == nil {
            let decision = message.decision
            if decision.route == .handoff, decision.reason == .safety {
                return try safety(message.understanding, decision: decision, state: &state, now: now)
            }
        }

        switch state.stage {
        case .withPerson(let id):
            return try caseWithPerson(id, state: &state, message: message, now: now)
        case .rating(let ticket):
            if let score = rating(in: message) { return try rate(score, ticket: ticket, state: &state, now: now) }
            if !state.ratingAsked, let ticket {
                // Back after a person resolved the case: say so before asking for the rating.
                state.ratingAsked = true
                return Reply(lines: [composer.phrase("person_resolved", ["ticket": ticket]), composer.phrase("rating")], route: .answer,
                             rule: "the agent resolved the case while the customer was away → ask for a rating")
            }
            if let acts, acts.has(.requestPerson) { state.stage = .open; return try handOff(.requested, understanding: nil, state: &state, now: now, rule: "request for a person (act)") }
            if let acts, !state.ratingReminded, !acts.has(.goodbye), !acts.has(.deny) || acts.has(.nothingElse), !acts.has(.cancel),
               acts.only([.thanks, .nothingElse, .acknowledge, .affirm, .resolved, .deny]) {
                // 「没有了」「好的」 at the rating question: still done, so ask once more, briefly.
                state.ratingReminded = true
                return Reply(lines: [composer.phrase("rating_again")], route: .answer, topic: Self.closingTopic(of: acts),
                             rule: "no rating yet (\(acts.phrases.joined(separator: " + "))) → ask once more")
            }
            if let acts, acts.only([.thanks, .goodbye, .nothingElse, .acknowledge, .deny, .cancel, .affirm, .resolved]) {
                try close(state: &state, now: now)
                return Reply(lines: [composer.phrase("closing")], route: .answer, topic: "goodbye", rule: "no rating given (\(acts.phrases.joined(separator: " + "))) → close politely")
            }
            if message.decision.route == .fallback {
                return Reply(lines: [composer.phrase("rating_again")], route: .answer, rule: "the rating step expects 1–5")
            }
            state.stage = .open  // a new question instead of a rating
        case .choosing(let offered):
            if acts == nil || acts!.rating != nil, let picked = pick(message, among: offered) {
                state.stage = .open
                return try answer(kb.entries[kb.entryIndex[picked]!], understanding: nil, state: &state, now: now, rule: "the customer chose \(picked)")
            }
            state.stage = .open
        case .offeringPerson(let reason):
            state.stage = .open
            if let acts {
                if acts.has(.requestPerson) || acts.only([.affirm, .acknowledge]) {
                    // 「转人工」 asks for a person in so many words; 「好的」 accepts the one offered.
                    return try handOff(acts.has(.requestPerson) ? .requested : reason, understanding: nil, state: &state, now: now,
                                       rule: "the customer accepted a person (\(acts.phrases.joined(separator: " + ")))")
                }
                if acts.has(.deny) || acts.has(.cancel) || acts.has(.nothingElse) {
                    state.misunderstandings = 0
                    return Reply(lines: [composer.phrase("declined_person")], route: .answer, rule: "the customer declined a person")
                }
            }
        case .open, .closed:
            break
        }
        if let acts, let reply = try respondToActs(acts, message: message, state: &state, now: now) { return reply }
        return try serve(message, state: &state, now: now)
    }

    /// The open stage's reading of dialogue acts, in order of precedence; nil when the acts
    /// mean nothing here (「在吗」 outside the queue is a greeting for the classifier).
    private func respondToActs(_ acts: ActReading, message: MessageReading, state: inout ConversationState, now: Date) throws -> Reply? {
        let n = message.n
        let composer = composer.speaking(state.language)
        let said = acts.phrases.joined(separator: " + ")
        let awaiting = state.awaiting
        state.awaiting = nil
        if acts.has(.requestPerson) {
            return try handOff(.requested, understanding: message.understanding, state: &state, now: now, rule: "request for a person (\(said)) wins over everything else")
        }
        if acts.has(.notHelped) || (awaiting == .confirmation && acts.only([.deny])) {
            if !state.lastCandidates.isEmpty || !state.answered.isEmpty {
                let previousTopic = state.lastCandidates.first?.topic
                let reply = try notHelped(state: &state, now: now)
                var event = messageEvent(message.understanding, route: reply.route ?? .clarify, state: state, now: now)
                event.topic = previousTopic
                event.reason = .handoff(.notHelped)
                try desk.events.record(event)
                return reply
            }
            state.stage = .offeringPerson(.notHelped)
            return Reply(lines: [composer.phrase("offer_person")], route: .clarify, rule: "not helped (\(said)) before any answer → offer a person")
        }
        let closing: Set<DialogueAct> = [.thanks, .goodbye, .nothingElse, .acknowledge, .resolved, .affirm, .cancel, .deny]
        if acts.only(closing) && !state.answered.isEmpty
            && (acts.has(.thanks) || acts.has(.goodbye) || acts.has(.nothingElse) || acts.has(.cancel) || (awaiting == .anythingElse && acts.has(.deny))) {
            // 「没有了」「拜拜」 close the conversation; a plain 「谢谢」 thanks the bot.
            let topic = acts.has(.goodbye) || acts.has(.nothingElse) ? "goodbye" : "thanks"
            try logControl(message.understanding, topic: topic, state: state, now: now)
            return askForRating(opening: acts.has(.thanks) ? "thanks_reply" : "nothing_else_reply", topic: topic, state: &state,
                                rule: "the customer is done (\(said)) → ask for a rating")
        }
        if acts.only([.acknowledge, .resolved, .affirm]) {
            try logControl(message.understanding, topic: "thanks", state: state, now: now)
            if state.answered.isEmpty {
                return Reply(lines: [composer.phrase("ack_open")], route: .answer, rule: "acknowledgement (\(said)) with nothing answered yet")
            }
            state.awaiting = .anythingElse
            return Reply(lines: [composer.phrase("acknowledged", variant: state.turnCount)], route: .answer,
                         rule: "acknowledgement after an answer (\(said)) → close the loop, no menu")
        }
        if acts.only([.thanks]) || acts.only([.thanks, .acknowledge]) {
            return Reply(lines: [composer.phrase("thanks_reply")], route: .answer, topic: "thanks", rule: "thanks (\(said))")
        }
        if acts.only(closing) && (acts.has(.goodbye) || acts.has(.nothingElse)) {
            // Done before anything was answered (「好，谢谢，没别的了」 after choices): close politely.
            try close(state: &state, now: now)
            let lines = acts.has(.thanks) ? [composer.phrase("thanks_reply"), composer.phrase("closing")] : [composer.phrase("closing")]
            return Reply(lines: lines, route: .answer, topic: "goodbye", rule: "goodbye (\(said))")
        }
        if acts.only([.cancel]) || acts.only([.cancel, .deny]) {
            return Reply(lines: [composer.phrase("ack_open")], route: .answer, rule: "nothing to withdraw (\(said))")
        }
        if let score = acts.rating, acts.only([.rating]), state.answered.isEmpty == false, Self.isPlainNumber(n) == false {
            return try rate(score, ticket: state.ticket, state: &state, now: now)
        }
        return nil
    }

    static func isPlainNumber(_ n: NormalizedText) -> Bool { n.scalars.allSatisfy { $0 >= 0x30 && $0 <= 0x39 || $0 == 0x20 } }

    /// Writes a control turn (「好的」「没有了」) as a message event, against the topic it closes.
    private func logControl(_ u: Understanding, topic: String, state: ConversationState, now: Date) throws {
        var event = messageEvent(u, route: .answer, state: state, now: now)
        event.topic = topic
        try desk.events.record(event)
    }

    /// Danger to a person: a person takes over at once, with the highest priority. Already
    /// queued or with a person, the ticket is raised to the top instead of opening another.
    private func safety(_ u: Understanding, decision: RouteDecision, state: inout ConversationState, now: Date) throws -> Reply {
        let composer = composer.speaking(state.language)
        let statedNow = u.emotion.has(.safety) && !state.dangerStated
        if statedNow { state.dangerStated = true }
        if case .withPerson(let id) = state.stage, let ticket = try desk.tickets.ticket(id), ticket.isOpen {
            let wasSafety = ticket.reason == .safety
            if wasSafety, ticket.state == .waiting, case .dealtWith(let said)? = dangerUpdate(u.normalized) {
                return try safetyAcknowledged(ticket, u, said: said, state: state, now: now)
            }
            try desk.tickets.escalate(id, reason: .safety, now: now)
            try desk.tickets.addCustomerMessage(id, line: TranscriptLine(time: now, from: "customer", text: u.normalized.original),
                                                turn: turnRecord(u, route: .handoff, now: now), now: now)
            var event = messageEvent(u, route: .handoff, state: state, now: now)
            event.ticket = id
            event.reason = .handoff(.safety)
            try desk.events.record(event)
            // More about a danger already first in the queue is answered with the advice; a case
            // that becomes a danger, or one now said in words, is handed off anew (raised below).
            let news = !wasSafety || statedNow
            var reply = Reply(lines: [safetyAdvice(u, state: state), composer.phrase("safety_escalated", ["ticket": id])], route: news ? .handoff : .answer,
                              topic: reasonTopic(.safety) ?? dangerTopic(u), reason: .safety, rule: decision.rule + "; already with a person → ticket \(id) moved to the top")
            // A case that becomes a danger is raised, and so is one opened on a softer reading
            // when the danger is now said in words; more words about the same danger are not news.
            if news { reply.raised = try desk.tickets.ticket(id) }
            return reply
        }
        state.stage = .open
        try record(u, decision: decision, state: &state, now: now)
        return try handOff(.safety, understanding: u, state: &state, now: now, rule: decision.rule, topic: dangerTopic(u))
    }

    /// A message in the open stage: understand it, route it, act.
    private func serve(_ message: MessageReading, state: inout ConversationState, now: Date) throws -> Reply {
        let composer = composer.speaking(state.language)
        let n = message.n
        state.awaiting = nil
        var u = message.understanding
        var decision = message.decision
        var rule = decision.rule
        // A short follow-up is read together with the question that led to the last answer.
        var readWithContext = false
        if let followUp = readWithPreviousQuestion(n, understanding: u, decision: decision, state: state) {
            u = followUp.understanding
            decision = followUp.decision
            rule = followUp.rule
            readWithContext = true
        }
        if let reply = followUpAnswer(n, understanding: u, decision: decision, state: &state) {
            try record(u, decision: RouteDecision(route: .answer, reason: nil, rule: reply.rule ?? ""), state: &state, now: now)
            return reply
        }
        // Understood only together with the last answer, and leading back to it: the answer
        // covers it. Say so in one line instead of a menu or the same answer again.
        if readWithContext, decision.route == .answer, let top = u.top, top.entryID == state.answered.last {
            try record(u, decision: decision, state: &state, now: now)
            state.awaiting = .anythingElse
            return Reply(lines: [composer.phrase("covered_above")], route: .answer, topic: top.topic,
                         rule: rule + "; the last answer (\(top.entryID)) covers it → said so, not repeated")
        }
        try record(u, decision: decision, state: &state, now: now)
        if state.topic == nil, decision.route != .fallback { state.topic = decision.topic ?? u.topic }

        switch decision.route {
        case .handoff:
            let reason = decision.reason ?? .requested
            // A complaint right after the progress of an earlier one was answered (「我都投诉三次了」)
            // is that case coming back: its facts are on file, so no question before the handoff.
            let chasing = state.answered.last.flatMap { kb.entryIndex[$0] }.map { kb.entries[$0].topic == Self.complaintProgressTopic } ?? false
            if reason == .complaint && chasing {
                return try handOff(reason, understanding: u, state: &state, now: now, rule: rule + "; the customer is chasing the complaint just looked up → a person, no question",
                                   topic: Self.complaintProgressTopic)
            }
            if reason == .complaint && !state.askedForFacts && !hasFacts(n) {
                // 「我要投诉」 asks for a person to complain to: the case is opened at once, and
                // the customer is asked what happened while waiting, so the agent has it when
                // they pick the case up. Withdrawing before an agent has it files nothing.
                state.askedForFacts = true
                var reply = try handOff(reason, understanding: u, state: &state, now: now, rule: rule + "; no details yet → opened, and asked what happened")
                reply.lines.append(composer.phrase("complaint_facts"))
                state.awaiting = .details
                return reply
            }
            return try handOff(reason, understanding: u, state: &state, now: now, rule: rule)
        case .answer:
            let entry = kb.entries[u.candidates[0].entryIndex]
            if entry.topic == "thanks" || entry.topic == "goodbye" {
                if !state.answered.isEmpty {
                    return askForRating(opening: entry.topic == "thanks" ? "thanks_reply" : "nothing_else_reply", topic: entry.topic, state: &state, rule: rule + "; the customer is closing")
                }
                if entry.topic == "goodbye" { try close(state: &state, now: now) }
                return Reply(lines: [composer.phrase(entry.topic == "thanks" ? "thanks_reply" : "closing")], route: .answer, topic: entry.topic, rule: rule)
            }
            if entry.topic == "greeting" {
                let greeted = state.greeted
                state.greeted = true
                let line = greeted ? composer.phrase("ack_open") : composer.phrase("greeting")
                return Reply(lines: [line], route: .answer, topic: "greeting", rule: rule + (greeted ? "; already greeted → no second greeting" : ""))
            }
            state.lastCandidates = u.candidates
            state.tried = []
            if state.answered.last == entry.id {
                // Asked a third time (「我问你快递到底到哪了！第三遍了！」): the answer is not what the
                // customer needs, and saying so again would be the bot failing them again. Any
                // feeling in it (a cue, 「！！」) hands off; asked calmly, a person is offered.
                if state.answered.reversed().prefix(while: { $0 == entry.id }).count >= 2 {
                    if u.emotion.score > 0 {
                        // Upset by now (「第三遍了！」): the agent meets an angry customer, and the
                        // reason says so; a milder feeling is the bot failing them.
                        let reason: HandoffReason = u.emotion.level >= .upset ? .emotion : .repeatedFailure
                        return try handOff(reason, understanding: u, state: &state, now: now,
                                           rule: rule + "; \(entry.id) asked a third time in a row, not calmly (\(u.emotion.level.rawValue)) → a person takes over")
                    }
                    state.stage = .offeringPerson(.repeatedFailure)
                    return Reply(lines: [composer.phrase("already_answered"), composer.phrase("offer_person")], route: .clarify, topic: entry.topic,
                                 rule: rule + "; \(entry.id) asked a third time in a row → a person offered")
                }
                state.answered.append(entry.id)
                // Asked again in other words (「我问的是燃气费怎么交」): the answer covers it, say
                // so in one line. The same words again: related entries or a person.
                if let previous = state.lastQuestion, kb.classifier.normalizer.normalize(previous).scalars != n.scalars {
                    state.awaiting = .anythingElse
                    return Reply(lines: [composer.phrase("covered_above")], route: .answer, topic: entry.topic,
                                 rule: rule + "; \(entry.id) was the last answer and covers this rewording → said so, not repeated")
                }
                return repeated(entry, state: &state, rule: rule)
            }
            // A follow-up understood with the question before it keeps that question's subject for
            // the next one (「积分能换什么」→「会过期吗」→「去哪里看还有多少」), within a bound.
            // A short question on the last answer's topic continues it too (「会过期吗」 after 积分).
            let lastTopic = state.answered.last.flatMap { kb.entryIndex[$0] }.map { kb.entries[$0].topic }
            let continuing = readWithContext || Self.isShort(n) && lastTopic == entry.topic
            let withContext = continuing ? state.lastQuestion.map { $0 + "，" + n.original } : nil
            state.lastQuestion = withContext.flatMap { $0.count <= Self.maxQuestionContext ? $0 : nil } ?? n.original
            // A runner-up worth naming: one the customer may really have meant, not the noise below it.
            let runnerUp = decision.unsure ? u.candidates.dropFirst().first { $0.topic != KnowledgeBase.outOfScopeTopic }
                .flatMap { $0.probability >= kb.thresholds.floor / 2 ? kb.entries[$0.entryIndex] : nil } : nil
            return try answer(entry, understanding: u, state: &state, now: now, rule: rule, runnerUp: runnerUp)
        case .clarify:
            state.misunderstandings = 0
            var offered: [String] = []
            // A danger is never a menu item (「1. 我有轻生的念头」): the safety rules hand those off.
            let offerable = u.candidates.filter { $0.topic != KnowledgeBase.outOfScopeTopic && kb.topics[$0.topic]?.handoffReason != .safety }
            for c in offerable where !offered.contains(c.entryID) && c.probability >= kb.thresholds.floor / 2 {
                offered.append(c.entryID)
                if offered.count == 3 { break }
            }
            if offered.count < 2 {
                offered = Array(offerable.prefix(2).map(\.entryID))
            }
            state.stage = .choosing(offered)
            state.lastCandidates = u.candidates
            return Reply(lines: composer.choices(offered), route: .clarify, topic: u.topic, rule: rule)
        case .fallback:
            if let other = decision.otherCompany {
                // Understood, only not ours: no misunderstanding, and the reply says whom to ask.
                return Reply(lines: [composer.phrase("other_company", ["other": other]), composer.capabilities()], route: .fallback,
                             topic: KnowledgeBase.outOfScopeTopic, rule: rule)
            }
            state.misunderstandings += 1
            if state.misunderstandings >= 2 {
                state.stage = .offeringPerson(.repeatedFailure)
                return Reply(lines: [composer.phrase("offer_person")], route: .fallback, topic: KnowledgeBase.outOfScopeTopic,
                             rule: rule + "; second misunderstanding in a row → offer a person")
            }
            return Reply(lines: [composer.phrase("fallback"), composer.capabilities()], route: .fallback,
                         topic: KnowledgeBase.outOfScopeTopic, rule: rule)
        }
    }

    /// The same entry again: say so briefly and offer the related entries or a person,
    /// instead of repeating the answer word for word.
    private func repeated(_ entry: CompiledEntry, state: inout ConversationState, rule: String) -> Reply {
        let composer = composer.speaking(state.language)
        let related = entry.entry.related.filter { kb.entryIndex[$0] != nil }.prefix(3).map { $0 }
        if related.isEmpty {
            state.stage = .offeringPerson(.notHelped)
            return Reply(lines: [composer.phrase("already_answered"), composer.phrase("offer_person")], route: .clarify, topic: entry.topic,
                         rule: rule + "; \(entry.id) was the last answer → not repeated, a person offered")
        }
        state.stage = .choosing(Array(related))
        return Reply(lines: [composer.phrase("already_answered")] + composer.choices(Array(related)), route: .clarify, topic: entry.topic,
                     rule: rule + "; \(entry.id) was the last answer → not repeated, related entries offered")
    }

    /// A short message the classifier is unsure of, right after an answer, read together with
    /// the question that led to that answer: 「要多久？」 after a card replacement answer asks how
    /// long the replacement takes. Used only when the combined reading stays with the last
    /// answer's topic or its related entries.
    private func readWithPreviousQuestion(_ n: NormalizedText, understanding u: Understanding, decision: RouteDecision,
                                          state: ConversationState) -> (understanding: Understanding, decision: RouteDecision, rule: String)? {
        guard let previous = state.lastQuestion, let lastID = state.answered.last, let lastIndex = kb.entryIndex[lastID],
              Self.isShort(n) || decision.route != .answer && Self.isShort(n, characters: Self.longFollowUp, words: 16),
              decision.route != .handoff || decision.leaning, !Self.switchesTopic(n) else { return nil }
        let last = kb.entries[lastIndex]
        // Clearly out of scope on its own ("tell me a joke while I wait"): nothing to follow up,
        // unless it opens by carrying on ("and how often should I do that?").
        if let top = u.top, top.topic == KnowledgeBase.outOfScopeTopic, top.probability >= kb.thresholds.answer, !Self.continues(n) { return nil }
        // 「那怎么关掉」「and euro?」 lean on the last answer by their first word, and a short
        // statement (「余额是够的啊」) right after an answer says something about it: both are
        // read with the last question even when the classifier alone is sure of something else.
        // `leans` only matters when the classifier alone is sure of another topic: worked out
        // only then (the string scans were a fifth of the engine's work in a burst).
        let confident = decision.route == .answer && (u.top?.topic == last.topic || (u.top?.probability ?? 0) >= 0.7)
        // 「行吧，那再见」 closes the conversation; it says nothing about the last answer.
        if confident, let top = u.top, KnowledgeBase.smallTalkTopics.contains(top.topic) { return nil }
        if confident && (u.top?.topic == last.topic || !(Self.continues(n) || !Self.asks(n))) { return nil }
        let combined = kb.understand(previous + "，" + n.original)
        var combinedDecision = kb.route(combined)
        guard let top = combined.top, top.topic == last.topic || last.entry.related.contains(top.entryID) else { return nil }
        // Nearly certain alone of a question of another topic (「那怎么报修」 after a Wi-Fi answer),
        // and leading back to the last answer only with it: a new question, not a follow-up.
        if top.entryID == lastID, let alone = u.top, alone.topic != last.topic, alone.probability >= Self.sureAlone { return nil }
        if combinedDecision.route == .clarify, top.entryID == lastID, decision.route == .fallback || u.top?.topic == last.topic {
            // Unsure together with the last question, but surest of the last answer itself: it covers the follow-up.
            combinedDecision = RouteDecision(route: .answer, reason: nil, rule: combinedDecision.rule + ", the likeliest being the last answer")
        }
        guard combinedDecision.route == .answer else { return nil }
        return (combined, combinedDecision, "follow-up read with the previous question «\(previous)»: \(combinedDecision.rule)")
    }

    /// A message the bot cannot answer alone, right after an answer, is read with the last
    /// question up to this length (「那只保留500以上的大额提醒可以吗」, "Can I use them to pay
    /// for part of an order?"): what it leaves unsaid is what the last answer was about.
    static let longFollowUp = 28

    /// How sure the classifier must be of a message alone for it to stand on its own after an answer.
    static let sureAlone: Float = 0.9

    /// The longest chain of a question and its follow-ups kept to read the next follow-up with.
    static let maxQuestionContext = 80

    /// Short enough to be a follow-up: 16 characters of Chinese, or ten English words (a
    /// tighter measure for a stricter use: an English word says about what 1.6 characters do).
    static func isShort(_ n: NormalizedText, characters: Int = 16, words: Int = 10) -> Bool {
        if n.scalars.count <= characters { return true }
        guard TextLanguage.of(n.original) == .en else { return false }
        return n.original.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "'" }).count <= words
    }

    /// What a closing said, as a topic: 「谢谢」 thanks, 「没有了」「再见」 goodbye; nil for 「好的」.
    static func closingTopic(of acts: ActReading) -> String? {
        acts.has(.thanks) ? "thanks" : acts.has(.goodbye) || acts.has(.nothingElse) ? "goodbye" : nil
    }

    /// Opens by turning to something else (「另外…」「顺便问下…」, "by the way"): a new question,
    /// never a follow-up of the last answer, however short.
    static func switchesTopic(_ n: NormalizedText) -> Bool {
        let text = n.foldedText.trimmingCharacters(in: .whitespaces)
        return Self.switchingOpeners.contains { text.hasPrefix($0) }
    }
    static let switchingOpeners = ["另外", "顺便", "对了", "再问个", "再问一个", "再问下", "换个问题", "还有个问题", "还有一个问题", "另一个问题",
                                   "btw", "by the way", "another question", "one more thing", "unrelated", "different question"]

    /// Opens with a word that carries on from the last turn: 「那…」, "and …", "what about …".
    static func continues(_ n: NormalizedText) -> Bool {
        if let plain = PlainScalars(n.folded) {
            // The same test on the scalars, without building and trimming a String.
            let text = plain.trimmed
            if let first = text.first, CompanyProfile.isHan(Unicode.Scalar(first)!) {
                return continuingChineseScalars.contains { text.starts(with: $0) }
            }
        }
        let text = n.foldedText.trimmingCharacters(in: .whitespaces)
        if let first = text.unicodeScalars.first, CompanyProfile.isHan(first) { return Self.continuingChinese.contains { text.hasPrefix($0) } }
        let words = text.split(whereSeparator: { !$0.isLetter && $0 != "'" })
        guard let w = words.first else { return false }
        return ["and", "so", "then", "also", "but"].contains(w) || (words.count > 1 && ["what", "how"].contains(w) && words[1] == "about")
    }
    static let continuingChinese = ["那", "还有", "而且", "然后", "可是", "但是", "不过", "如果", "要是"]
    static let continuingChineseScalars = continuingChinese.map { $0.unicodeScalars.map(\.value) }

    /// Whether the message asks something (a question word, 吗, a question mark), rather than
    /// only telling something.
    static func asks(_ n: NormalizedText) -> Bool {
        if let plain = PlainScalars(n.folded), TextLanguage.of(n.original) != .en {
            // The same search on the scalars: Foundation's `contains` bridged every cue to
            // NSString and searched it locale-aware, a fifth of the engine's work in a burst.
            return plain.contains([0x3F]) || chineseQuestionCueScalars.contains { plain.contains($0) }
        }
        let text = n.foldedText
        if text.contains("?") { return true }
        if TextLanguage.of(n.original) == .en {
            let first = text.split(whereSeparator: { !$0.isLetter && $0 != "'" }).first.map(String.init) ?? ""
            return Self.englishQuestionWords.contains(first)
        }
        return Self.chineseQuestionCues.contains { text.contains($0) }
    }
    static let englishQuestionWords: Set<String> = ["how", "what", "what's", "whats", "when", "where", "why", "which", "who", "can", "could",
                                                     "do", "does", "did", "is", "are", "will", "would", "should", "may", "any", "need", "i'd", "please"]
    static let chineseQuestionCues = ["吗", "么", "嘛", "呢", "怎", "如何", "什么", "啥", "哪", "几", "多少", "多久", "能否", "能不能", "可以", "可不可",
                                      "是否", "要不要", "有没有", "为何", "咋", "请问", "想", "要", "需要", "帮我", "麻烦"]
    static let chineseQuestionCueScalars = chineseQuestionCues.map { $0.unicodeScalars.map(\.value) }

    /// The entry's answer, its related entries and one closing question. `runnerUp`: the answer
    /// was a lean one (`lean_answer`), so the next candidate is named for a 「不是」 to reach.
    private func answer(_ entry: CompiledEntry, understanding: Understanding?, state: inout ConversationState, now: Date, rule: String,
                        runnerUp: CompiledEntry? = nil) throws -> Reply {
        let composer = composer.speaking(state.language)
        state.misunderstandings = 0
        state.tried.append(entry.id)
        state.answered.append(entry.id)
        if entry.alwaysHandOff {
            return try handOff(kb.handoffReason(of: entry), understanding: understanding, state: &state, now: now, rule: rule)
        }
        var lines = answerLines(entry, composer: composer, state: state)
        if let runnerUp, runnerUp.id != entry.id, let line = composer.otherReading(runnerUp) {
            lines.append(line)
        } else {
            lines += composer.related(entry)
        }
        lines.append(composer.phrase("confirm", variant: state.turnCount))
        state.awaiting = .confirmation
        return Reply(lines: lines, route: .answer, topic: entry.topic, rule: rule)
    }

    /// The entry's answer in the customer's language: its English answer for an English
    /// customer, or one English line saying a Chinese answer follows when it has none.
    private func answerLines(_ entry: CompiledEntry, composer: ReplyComposer, state: ConversationState) -> [String] {
        if state.language == .en {
            if !entry.filledEnglishAnswers.isEmpty {
                return [entry.filledEnglishAnswers[Int(ReplyComposer.hash(state.id) % UInt64(entry.filledEnglishAnswers.count))]]
            }
            return [composer.phrase("answer_in_chinese"), composer.answer(entry, conversation: state.id)]
        }
        return [composer.answer(entry, conversation: state.id)]
    }

    /// A follow-up the last answered entry lists (「要多久？」 after a card replacement), when
    /// the message asks it and is not clearly a new question about something else.
    private func followUpAnswer(_ n: NormalizedText, understanding u: Understanding, decision: RouteDecision,
                                state: inout ConversationState) -> Reply? {
        guard let lastID = state.answered.last, let index = kb.entryIndex[lastID], decision.route != .handoff else { return nil }
        let last = kb.entries[index]
        guard let (cue, answer, englishAnswer) = last.followUp(for: n), !Self.switchesTopic(n) else { return nil }
        let newQuestion = decision.route == .answer && u.top?.entryID != lastID && u.top?.topic != last.topic && !Self.isShort(n, characters: 12, words: 7)
        guard !newQuestion else { return nil }
        let composer = composer.speaking(state.language)
        state.awaiting = .confirmation
        var lines = [answer]
        if state.language == .en { lines = englishAnswer.map { [$0] } ?? [composer.phrase("answer_in_chinese"), answer] }
        lines.append(composer.phrase("confirm", variant: state.turnCount))
        return Reply(lines: lines, route: .answer, topic: last.topic,
                     rule: "follow-up 「\(cue)」 of \(lastID), the last answer")
    }

    /// 「没用」: the next candidate not yet tried, else offer a person.
    private func notHelped(state: inout ConversationState, now: Date) throws -> Reply {
        let composer = composer.speaking(state.language)
        if let next = state.lastCandidates.first(where: { !state.tried.contains($0.entryID) && $0.topic != KnowledgeBase.outOfScopeTopic
            && $0.probability >= kb.thresholds.floor / 4 && !KnowledgeBase.smallTalkTopics.contains($0.topic) }) {
            var reply = try answer(kb.entries[next.entryIndex], understanding: nil, state: &state, now: now, rule: "not helped → next candidate \(next.entryID)")
            reply.lines.insert(composer.phrase("not_helped"), at: 0)
            return reply
        }
        state.stage = .offeringPerson(.notHelped)
        return Reply(lines: [composer.phrase("offer_person")], route: .clarify, rule: "not helped and no other candidate → offer a person")
    }

    private func askForRating(opening: String, topic: String, state: inout ConversationState, rule: String) -> Reply {
        let composer = composer.speaking(state.language)
        state.stage = .rating(ticket: state.ticket)
        state.ratingAsked = true
        return Reply(lines: [composer.phrase(opening), composer.phrase("rating")], route: .answer, topic: topic, rule: rule)
    }

    /// The rating a message gives at the rating step: the whole of it (「5」「五星」「very
    /// satisfied, thank you」) or its first clause before a comment (「2, it took far too long」
    /// 「差评，等太久了」; the comment stays in the transcript).
    private func rating(in message: MessageReading) -> Int? {
        if let acts = message.acts { return acts.only([.rating, .thanks, .acknowledge, .affirm, .goodbye, .nothingElse]) ? acts.rating : nil }
        if let score = ControlReplies.rating(message.n) { return score }
        let text = message.n.original
        guard let cut = text.firstIndex(where: { "，,。.！!；;：: ".contains($0) }), cut != text.startIndex else { return nil }
        let head = kb.classifier.normalizer.normalize(String(text[..<cut]))
        if let acts = kb.acts.read(head), acts.only([.rating]) { return acts.rating }
        return ControlReplies.rating(head)
    }

    private func rate(_ score: Int, ticket: String?, state: inout ConversationState, now: Date) throws -> Reply {
        let composer = composer.speaking(state.language)
        if let ticket { try desk.tickets.rate(ticket, score: score, now: now) }
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

    /// A message while the case is with a person. Waiting in the queue, the customer can
    /// withdraw, ask where they stand, or ask a routine question (answered; the ticket keeps
    /// its place and the agent sees the exchange). With an agent on the case, the bot stays
    /// quiet: the agent answers, and the customer hears once if the agent has been silent a while.
    private func caseWithPerson(_ id: String, state: inout ConversationState, message: MessageReading?, now: Date) throws -> Reply {
        let composer = composer.speaking(state.language)
        try desk.tickets.refresh()
        guard let ticket = try desk.tickets.ticket(id) else {
            state.stage = .open
            return Reply(lines: [composer.phrase("fallback")], route: .fallback)
        }
        var relayed: [String] = []
        let replies = ticket.agentReplies
        for line in replies.dropFirst(ticket.deliveredReplies) {
            relayed.append("[人工客服 \(line.from.dropFirst("agent:".count))] \(line.text)")
        }
        if replies.count > ticket.deliveredReplies { try desk.tickets.markDelivered(id, count: replies.count, now: now) }
        if ticket.state == .resolved, let message, message.acts == nil, message.decision.route != .fallback {
            // Back with a new question after the agent resolved the case: answer it; the
            // rating is asked when the customer is done.
            try desk.tickets.addCustomerMessage(id, line: TranscriptLine(time: now, from: "customer", text: message.n.original), turn: nil, now: now)
            state.stage = .open
            var reply = try serve(message, state: &state, now: now)
            reply.lines.insert(composer.phrase("person_resolved", ["ticket": id]), at: 0)
            reply.relayed = relayed + reply.relayed
            return reply
        }
        if ticket.state == .resolved {
            if let message { try desk.tickets.addCustomerMessage(id, line: TranscriptLine(time: now, from: "customer", text: message.n.original), turn: nil, now: now) }
            if let message, let score = rating(in: message) {
                // The customer rated the case in the same breath as seeing it resolved (「5 stars」).
                var reply = try rate(score, ticket: id, state: &state, now: now)
                reply.lines.insert(composer.phrase("person_resolved", ["ticket": id]), at: 0)
                reply.relayed = relayed
                return reply
            }
            state.stage = .rating(ticket: id)
            state.ratingAsked = true
            var reply = Reply(lines: [composer.phrase("person_resolved", ["ticket": id]), composer.phrase("rating")], route: .answer,
                              rule: "the agent resolved the case → ask for a rating")
            reply.relayed = relayed
            return reply
        }
        guard let message else {
            var reply = Reply(lines: [composer.phrase("with_person", ["ticket": id])], route: .handoff,
                              rule: "the case is with a person")
            reply.relayed = relayed
            return reply
        }
        let u = message.understanding
        var reply: Reply
        if ticket.state == .claimed {
            try passOn(message.n.original, u, to: id, state: state, now: now)
            let lastAgent = max(ticket.claimedAt ?? ticket.created, replies.last?.time ?? ticket.created)
            if relayed.isEmpty, !state.awayNoticeGiven, now.timeIntervalSince(lastAgent) >= Self.agentAwayAfter {
                state.awayNoticeGiven = true
                reply = Reply(lines: [composer.phrase("agent_away")], route: .handoff, rule: "no word from the agent for \(Int(Self.agentAwayAfter / 60)) minutes → one notice")
            } else {
                reply = Reply(lines: [], route: .handoff, rule: "an agent has the case: the bot stays quiet and passes the message on")
            }
        } else {
            reply = try whileQueued(ticket, message: message, state: &state, now: now)
        }
        reply.relayed = relayed + reply.relayed
        return reply
    }

    /// The customer's line (and what the bot made of it) goes into the ticket for the agent.
    private func passOn(_ text: String, _ u: Understanding, to id: String, state: ConversationState, now: Date) throws {
        try desk.tickets.addCustomerMessage(id, line: TranscriptLine(time: now, from: "customer", text: text),
                                            turn: turnRecord(u, route: .handoff, now: now), now: now)
        var event = messageEvent(u, route: .handoff, state: state, now: now)
        event.ticket = id
        try desk.events.record(event)
    }

    private func whileQueued(_ ticket: Ticket, message: MessageReading, state: inout ConversationState, now: Date) throws -> Reply {
        let u = message.understanding
        let composer = composer.speaking(state.language)
        let id = ticket.id
        let position = try max(1, desk.tickets.position(of: id))
        let place = ["ticket": id, "position": String(position), "wait": composer.describeWait(Double(position) * (try desk.tickets.typicalWait()))]
        let danger = ticket.reason == .safety ? dangerUpdate(message.n) : nil
        if case .dealtWith(let said)? = danger {
            return try safetyAcknowledged(ticket, u, said: said, state: state, now: now)
        }
        // Money lost or a danger is withdrawn only in so many words (「不用了」 alone), never by a
        // cancel word inside a longer message: the case matters more than a misreading.
        let mentionedCancel = message.acts == nil && ![.money, .safety].contains(ticket.reason) ? kb.acts.mentions(.cancel, in: message.n) : nil
        // 「不用投诉了，东西送到了」 withdraws even though it reads as a complaint; anger, threats,
        // money and danger never withdraw (「再不退钱就取消合作」).
        if let phrase = mentionedCancel, message.decision.route != .handoff || (message.decision.reason?.severity ?? 0) < HandoffReason.emotion.severity {
            return try withdraw(ticket, message: message, state: &state, now: now, rule: "the customer withdrew the request (「\(phrase)」) while waiting")
        }
        if let acts = message.acts {
            let said = acts.phrases.joined(separator: " + ")
            if acts.has(.cancel) && !acts.has(.requestPerson) {
                return try withdraw(ticket, message: message, state: &state, now: now, rule: "the customer withdrew the request (\(said)) while waiting")
            }
            try passOn(message.n.original, u, to: id, state: state, now: now)
            if acts.has(.askPosition) || acts.has(.requestPerson) || acts.has(.notHelped) {
                // The bot answers where the customer stands: every blind file's writers read this reply as an answer.
                return Reply(lines: [composer.phrase("queue_position", place)], route: .answer, rule: "waiting: \(said) → position and wait")
            }
            if acts.only([.thanks, .acknowledge, .affirm, .resolved, .goodbye, .nothingElse, .deny]) {
                return Reply(lines: [composer.phrase("queue_still_waiting", place)], route: .answer, topic: Self.closingTopic(of: acts),
                             rule: "waiting: \(said) → still in the queue")
            }
            return Reply(lines: [composer.phrase("queue_noted", place)], route: .answer, rule: "waiting: \(said)")
        }
        let decision = message.decision
        let askedForDetails = state.awaiting == .details
        state.awaiting = nil
        // The answer to 「what happened?」 goes to the case as it is, however it reads; only a
        // threat, a loss or a danger in it raises the case (handled further down and above).
        if askedForDetails, decision.route != .handoff || ![.threat, .money].contains(decision.reason) {
            try passOn(message.n.original, u, to: id, state: state, now: now)
            return Reply(lines: [composer.phrase("queue_noted", place)], route: .answer, topic: ticket.topic,
                         rule: "waiting: the details asked for → added to ticket \(id) (\(decision.rule))")
        }
        // 「请问还要等多久」: asking for the place in the queue in more words, unless it is clearly a
        // question of its own (「维修还要多久」 answered as such).
        let sure = decision.route == .answer && !decision.unsure
        // A request for a person while waiting for one (「有冇人嚟緊」 read as 转人工) asks the same.
        if message.acts == nil, !sure, decision.route != .handoff || decision.reason == .requested, let phrase = kb.acts.mentions(.askPosition, in: message.n) {
            try passOn(message.n.original, u, to: id, state: state, now: now)
            return Reply(lines: [composer.phrase("queue_position", place)], route: .answer, rule: "waiting: 「\(phrase)」 → position and wait")
        }
        if case .goesOn(let said)? = danger {
            // 「窗户开了，可是味道越来越大」 is the danger going on, whatever else it reads as.
            try passOn(message.n.original, u, to: id, state: state, now: now)
            return safetyAdviceAgain(ticket, place: place, state: state, rule: "waiting with a danger that goes on (「\(said)」): the safety advice again")
        }
        // While queued no menu can be offered: a question answered in the open (a lean answer
        // included) or one the bot is nearly sure of (within the margin below the answer
        // threshold) gets its closest answer; the agent sees it anyway.
        let nearlySure = decision.route == .clarify && (u.top?.probability ?? 0) >= kb.thresholds.answer - kb.thresholds.margin
            && u.top.map { kb.topics[$0.topic]?.route == .answer && $0.topic != KnowledgeBase.outOfScopeTopic } == true
        if decision.route == .answer || nearlySure, let top = u.top, !KnowledgeBase.smallTalkTopics.contains(top.topic) {
            // A routine question while waiting: answered, and the exchange is in the ticket.
            try passOn(message.n.original, u, to: id, state: state, now: now)
            let entry = kb.entries[top.entryIndex]
            var lines = answerLines(entry, composer: composer, state: state)
            lines.append(composer.phrase("queue_still_waiting", place))
            state.answered.append(entry.id)
            return Reply(lines: lines, route: .answer, topic: entry.topic, rule: "waiting: routine question → answered, the ticket keeps its place (\(decision.rule))")
        }
        try passOn(message.n.original, u, to: id, state: state, now: now)
        if ticket.reason == .money, Self.asks(message.n), decision.route != .handoff || decision.reason == .money {
            // 「卡要不要先冻结」「多扣的钱什么时候能退回来」 while a loss waits for a person: what to
            // do right now (freeze the card, keep the codes) is the answer; the loss is on file.
            return Reply(lines: [composer.phrase("money_advice"), composer.phrase("queue_noted", place)], route: .answer,
                         topic: decision.route == .fallback ? ticket.topic : u.topic, rule: "waiting with money lost, a question: what to do right now, again (\(decision.rule))")
        }
        if decision.route == .handoff, !decision.leaning, let reason = decision.reason, reason.severity >= HandoffReason.emotion.severity,
           reason != .emotion || !decision.byModelAlone {
            // A message that would hand off on its own (anger, a threat) while waiting: the
            // ticket takes the more urgent reason and moves up, the customer hears an apology
            // and that the case has their words, and the reply names the ticket.
            try desk.tickets.escalate(id, reason: reason, now: now)
            let current = try desk.tickets.ticket(id) ?? ticket
            var lines = [composer.phrase("queue_noted", place)]
            if [.emotion, .threat].contains(reason) { lines.insert(composer.phrase("apology"), at: 0) }
            var reply = Reply(lines: lines, route: .handoff, topic: ticket.topic, reason: current.reason,
                         rule: "waiting: \(reason.rawValue) → ticket \(id) \(current.reason == ticket.reason ? "keeps" : "raised to") \(current.reason.rawValue) (\(decision.rule))")
            // News for the agents when the reason rose, the customer is angry, or threatens
            // again; more details of a loss already reported are not, nor is 「我已经报警了」 on
            // a fraud case (a step victims are told to take).
            // A danger is at the top of the queue already: distress on it is the agent's to read.
            let renewed = reason == .emotion && ticket.reason != .safety || reason == .threat && ticket.reason == .threat
            if current.reason != ticket.reason || renewed { reply.raised = current }
            return reply
        }
        if ticket.reason == .safety {
            // 「现在怎么办」 while a person is on the way to a danger: what to do right now, again.
            return safetyAdviceAgain(ticket, place: place, state: state, rule: "waiting with a danger: the safety advice again (\(decision.rule))")
        }
        // The handoff happened when the ticket was opened: this line is answered (it is on the
        // case, and the customer hears so), not handed off again.
        return Reply(lines: [composer.phrase("queue_noted", place)], route: .answer, topic: decision.route == .fallback ? nil : u.topic,
                     rule: "waiting: passed on to the agent (\(decision.rule))")
    }

    /// What a message says about a waiting danger, read once: it goes on (「门开了，火越来越大」),
    /// or the customer dealt with it (「窗户开了，人出来了」「已经拔掉了」) and asks nothing.
    private enum DangerUpdate {
        case goesOn(String)
        case dealtWith(String)
    }

    private func dangerUpdate(_ n: NormalizedText) -> DangerUpdate? {
        if let still = kb.acts.mentions(.stillInDanger, in: n) { return .goesOn(still) }
        if !Self.asks(n), let done = kb.acts.mentions(.safeNow, in: n) { return .dealtWith(done) }
        return nil
    }

    /// The waiting danger's advice again, and that the message is on the ticket; answered (the
    /// case is first in the queue already).
    private func safetyAdviceAgain(_ ticket: Ticket, place: [String: String], state: ConversationState, rule: String) -> Reply {
        Reply(lines: [safetyAdvice(safetyEntry(of: ticket), state: state), composer.speaking(state.language).phrase("queue_noted", place)], route: .answer,
              topic: reasonTopic(.safety), reason: .safety, rule: rule)
    }

    /// The customer followed the safety advice: thanked and reassured in one line (the case
    /// stays first in the queue and the agent reads the message), not the whole advice again.
    private func safetyAcknowledged(_ ticket: Ticket, _ u: Understanding, said: String, state: ConversationState, now: Date) throws -> Reply {
        try passOn(u.normalized.original, u, to: ticket.id, state: state, now: now)
        return Reply(lines: [composer.speaking(state.language).phrase("safety_acknowledged", ["ticket": ticket.id])], route: .answer,
                     topic: reasonTopic(.safety), rule: "waiting with a danger: the customer did what the advice said (「\(said)」) → thanked and reassured")
    }

    /// What to do right now: the answer of the closest entry of the safety topic (self-harm
    /// gets the crisis line and a human word, a gas leak the 119 advice), else the standard
    /// safety advice.
    private func safetyAdvice(_ u: Understanding?, state: ConversationState) -> String {
        safetyAdvice(u?.candidates.first { kb.topics[$0.topic]?.handoffReason == .safety }.map { kb.entries[$0.entryIndex] }, state: state)
    }

    /// The danger a waiting safety case is about: the closest safety entry of its turns.
    private func safetyEntry(of ticket: Ticket) -> CompiledEntry? {
        for turn in ticket.turns.reversed() {
            if let c = turn.candidates.first(where: { kb.topics[$0.topic]?.handoffReason == .safety }), let i = kb.entryIndex[c.entry] { return kb.entries[i] }
        }
        return nil
    }

    private func safetyAdvice(_ entry: CompiledEntry?, state: ConversationState) -> String {
        let composer = composer.speaking(state.language)
        if let e = entry {
            if state.language == .en {
                // An English customer in danger reads the advice in English, never a Chinese
                // answer behind a note: the entry's English answer, else the standard advice.
                guard !e.filledEnglishAnswers.isEmpty else { return composer.phrase("safety_advice") }
                return e.filledEnglishAnswers[Int(ReplyComposer.hash(state.id) % UInt64(e.filledEnglishAnswers.count))]
            }
            return composer.answer(e, conversation: state.id)
        }
        return composer.phrase("safety_advice")
    }

    /// The topic of a danger: the topic whose `products` the message names (a water heater
    /// that smells of gas is a repair case, handed off for safety), else the safety topic.
    private func dangerTopic(_ u: Understanding) -> String {
        if let topic = kb.productNamed(u.normalized)?.topic { return topic }
        return kb.handoffTopic(for: .safety) ?? u.topic
    }

    /// The customer no longer wants a person: the waiting ticket leaves the queue (agents see
    /// it go; the report counts it), and the bot serves them again.
    private func withdraw(_ ticket: Ticket, message: MessageReading, state: inout ConversationState, now: Date, rule: String) throws -> Reply {
        let id = ticket.id
        try desk.tickets.addCustomerMessage(id, line: TranscriptLine(time: now, from: "customer", text: message.n.original), turn: nil, now: now)
        try desk.tickets.withdraw(id, now: now)
        var event = ServiceEvent(kind: .agentAction, time: now)
        event.conversation = state.id
        event.customer = state.customer
        event.ticket = id
        event.action = .withdrawn
        try desk.events.record(event)
        state.stage = .open
        state.ticket = nil
        // A complaint withdrawn before an agent took it is not filed; a request for a person is cancelled.
        let line = ticket.reason == .complaint ? composer.speaking(state.language).phrase("complaint_withdrawn")
            : composer.speaking(state.language).phrase("queue_withdrawn", ["ticket": id])
        return try answeringTheRest(of: message, after: Reply(lines: [line], route: .answer, topic: ticket.reason == .complaint ? "complaint" : nil,
                                                              rule: rule + " → ticket \(id) leaves the queue"), state: &state, now: now)
    }

    /// 「算了，不投诉了，就想问下网点几点开门」: a question asked along with withdrawing is
    /// answered in the same reply, after the withdrawal is confirmed.
    private func answeringTheRest(of message: MessageReading, after withdrawal: Reply, state: inout ConversationState, now: Date) throws -> Reply {
        guard message.acts == nil, message.decision.route == .answer, let top = message.understanding.top,
              kb.topics[top.topic]?.route == .answer, !KnowledgeBase.smallTalkTopics.contains(top.topic) else { return withdrawal }
        var reply = try answer(kb.entries[top.entryIndex], understanding: message.understanding, state: &state, now: now,
                               rule: (withdrawal.rule ?? "") + "; and the question in it answered (\(message.decision.rule))")
        // The answer follows the confirmation in one reply: no second greeting inside it.
        if let first = reply.lines.first { reply.lines[0] = Self.withoutOpeningHello(first) }
        reply.lines.insert(contentsOf: withdrawal.lines, at: 0)
        return reply
    }

    /// An answer's line without the 「您好，」 or "Hello, " it opens with, for a reply in which
    /// something else was said first.
    static func withoutOpeningHello(_ line: String) -> String {
        if line.hasPrefix("您好，") { return String(line.dropFirst(3)) }
        guard line.hasPrefix("Hello, ") else { return line }
        let rest = line.dropFirst("Hello, ".count)
        return rest.prefix(1).uppercased() + rest.dropFirst()
    }

    /// Opens a ticket (written and synced), then tells the customer its number.
    private func handOff(_ reason: HandoffReason, understanding u: Understanding?, state: inout ConversationState, now: Date, rule: String,
                         topic named: String? = nil) throws -> Reply {
        let composer = composer.speaking(state.language)
        // The ticket keeps the subject (what the agent will talk about: the card, the water
        // heater); the reply says what it is (a person, a complaint, a danger) when the
        // reason has a topic of its own.
        let subject = named ?? [state.topic, u?.topic].compactMap { $0 }.first { kb.topics[$0]?.route == .answer && !KnowledgeBase.smallTalkTopics.contains($0) }
        let topic = subject ?? reasonTopic(reason) ?? "human_agent"
        let code = state.offersResume ? ResumeCode.generate() : nil
        let draft = TicketDraft(conversation: state.id, customer: state.customer, channel: state.channel, reason: reason, topic: topic,
                                summary: summary(reason: reason, topic: topic, state: state, emotion: u?.emotion),
                                facts: state.facts, transcript: state.transcript, turns: state.turns, resumeHash: code?.hash)
        let ticket = try desk.tickets.open(draft, now: now)
        // The ticket is recorded: a queue that cannot say where it stands does not undo that.
        let position = max(1, (try? desk.tickets.position(of: ticket.id)) ?? 1)
        state.ticket = ticket.id
        state.stage = .withPerson(ticket.id)
        state.awayNoticeGiven = false
        var event = ServiceEvent(kind: .handoff, time: now)
        event.conversation = state.id
        event.customer = state.customer
        event.channel = state.channel
        event.reason = .handoff(reason)
        event.ticket = ticket.id
        event.topic = topic
        try desk.events.record(event)

        var lines: [String] = []
        switch reason {
        case .safety: lines += [safetyAdvice(u, state: state)]
        case .money: lines += [composer.phrase("empathy"), composer.phrase("money_advice")]
        case .complaint, .emotion, .threat, .notHelped, .repeatedFailure: lines += [composer.phrase("apology")]
        case .requested: break
        }
        if hours.isOpen(at: now) {
            let wait = Double(position) * ((try? desk.tickets.typicalWait()) ?? TicketStore.defaultWait)
            lines.append(composer.phrase("handoff", ["ticket": ticket.id, "position": String(position), "wait": composer.describeWait(wait)]))
        } else {
            lines.append(composer.phrase("handoff_after_hours", ["ticket": ticket.id]))
        }
        // Chasing an earlier complaint stays 投诉进度, whatever the reason.
        let replyTopic = topic == Self.complaintProgressTopic ? topic : reasonTopic(reason) ?? topic
        return Reply(lines: lines, route: .handoff, topic: replyTopic, reason: reason, ticket: ticket, rule: rule, resumeCode: code)
    }

    /// The topic that stands for a handoff reason (转人工 for a request, 投诉 for a complaint,
    /// 人身安全 for a danger), if the knowledge base has one.
    private func reasonTopic(_ reason: HandoffReason) -> String? {
        // A person offered after the bot failed, and accepted, is a person asked for.
        let standing: HandoffReason = [.notHelped, .repeatedFailure].contains(reason) ? .requested : reason
        return kb.handoffTopic(for: standing)
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

    static let complaintProgressTopic = "complaint_progress"

    static let reasonName: [HandoffReason: String] = [
        .requested: "客户要求人工", .complaint: "投诉", .emotion: "情绪激动", .threat: "投诉升级（12315/律师/媒体等）",
        .safety: "人身安全风险", .money: "资金损失", .repeatedFailure: "机器人多次未能理解", .notHelped: "机器人答复未解决问题",
    ]

    /// A complaint that already says what happened: long enough, or with a number or time in it.
    private func hasFacts(_ n: NormalizedText) -> Bool {
        if n.scalars.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) { return true }
        // English says in nine words what Chinese says in fourteen characters.
        if TextLanguage.of(n.original) == .en { return n.text.split(separator: " ").count >= 9 }
        return n.scalars.count >= 14
    }

    /// A choice among offered entries: a number, or words that fit one of them best.
    private func pick(_ message: MessageReading, among offered: [String]) -> String? {
        let n = message.n
        if let number = ControlReplies.choice(n, count: offered.count) { return offered[number - 1] }
        if kb.acts.read(n) != nil { return nil }
        guard Self.isShort(n, characters: 12, words: 7) else { return nil }
        let u = message.understanding
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
        event.route = StoredCode(route)
        event.topic = route == .fallback ? KnowledgeBase.outOfScopeTopic : u.topic
        event.entry = u.top?.entryID
        event.confidence = Double(u.top?.probability ?? 0)
        event.emotionScore = Double(u.emotion.score)
        event.emotionLevel = StoredCode(u.emotion.level)
        return event
    }

    /// Keeps the turn for the ticket and writes the message event.
    private func record(_ u: Understanding, decision: RouteDecision, state: inout ConversationState, now: Date) throws {
        state.turns.append(turnRecord(u, route: decision.route, now: now))
        try desk.events.record(messageEvent(u, route: decision.route, state: state, now: now))
    }
}
