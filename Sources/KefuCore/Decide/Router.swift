/// The route for one message and the rule that chose it, in words an editor can check.
public struct RouteDecision: Sendable, Equatable {
    public let route: Route
    public let reason: HandoffReason?
    /// The rule that fired, e.g. "confidence 0.82 ≥ answer threshold 0.50 and margin 0.61 ≥ 0.15".
    public let rule: String
    /// The topic the message counts as when it is not the top candidate's: anger or a threat
    /// about nothing the knowledge base answers (「你们这什么破公司」) is a complaint.
    public var topic: String? = nil
    /// Handed off only because the bot has no answer and the handoff model leans that way
    /// (`handoff_unanswered`): right for a first message, not enough to raise a case that a
    /// person already has (「好的，那我继续排队」 is no anger).
    public var leaning = false
    /// Handed off on the handoff model's reading alone, no cue of the lexicon behind it: enough
    /// for a first message, not to raise a waiting case to anger (「我刚刚是不是已经在排队了」
    /// read as emotion 0.60 from 刚刚 and 是不是).
    public var byModelAlone = false
    /// Answered below the answer threshold (`lean_answer`): the reply names the runner-up, so a
    /// customer answered wrongly can say 「不是」 and get it.
    public var unsure = false
    /// The candidates the decision stands on when they are not the understanding's own: a calm
    /// message that names a handoff topic (「我不是要投诉，就想问退货流程」) is answered from the
    /// other candidates, and the reply must answer the entry the route was decided on.
    public var candidates: [Candidate]? = nil
    /// The other company the message asks about (「淘宝退货怎么弄」): out of scope, and the reply
    /// says whom to ask.
    public var otherCompany: String? = nil
}

/// Chooses the route of a message in a fresh conversation. Rules are checked in order and
/// the first that fires wins: people's safety and money before anything else, then
/// threats, then high emotion (an angry customer is never offered a menu), then explicit
/// requests and complaints, then confidence.
public enum Router {
    public static func decide(_ u: Understanding, in kb: KnowledgeBase) -> RouteDecision {
        var decision = route(u, in: kb)
        // A danger is about safety whatever it names (a water heater that smells of gas): the
        // topic the reply carries, as the conversation says it; the ticket keeps the product's.
        if decision.route == .handoff, decision.reason == .safety, let safety = kb.handoffTopic(for: .safety) {
            decision.topic = safety
        }
        // Anger or a threat whose words point at no answerable subject (the top candidate is
        // small talk, out of scope, or a handoff topic of another reason) is a complaint about the
        // service; with a clear subject it keeps that subject (「退款到底什么时候到！！」).
        if decision.route == .handoff, let reason = decision.reason, [.emotion, .threat, .complaint].contains(reason),
           let complaint = kb.handoffTopic(for: .complaint) {
            func subjectless(_ c: Candidate) -> Bool {
                let topic = kb.topics[c.topic]
                return c.topic == KnowledgeBase.outOfScopeTopic || KnowledgeBase.smallTalkTopics.contains(c.topic)
                    || c.topic == KnowledgeBase.praiseTopic || (topic?.route == .handoff && topic?.handoffReason != .complaint)
            }
            // Without a subject on top, the next candidate that has one (「太棒了，服务真好，第三周了
            // 还在等维修」: the praise is sarcasm, the repair the subject), else a complaint.
            if u.candidates.first.map(subjectless) ?? true {
                let subject = u.candidates.prefix(3).dropFirst().first { !subjectless($0) && $0.probability >= kb.thresholds.floor / 2 }
                decision.topic = subject?.topic ?? complaint
            }
        }
        return decision
    }

    private static func route(_ u: Understanding, in kb: KnowledgeBase) -> RouteDecision {
        let t = kb.thresholds
        let top = u.candidates.first
        let emotion = u.emotion
        // The learned handoff model's reading (all zero without `Intents/handoff/`).
        let hasModel = u.handoff != nil
        let safety = u.handoff?.probability(HandoffReason.safety.rawValue) ?? 0
        let calm = u.handoff?.probability(HandoffModel.calmLabel) ?? 0
        if emotion.has(.safety) {
            return RouteDecision(route: .handoff, reason: .safety, rule: "safety cue \(cueList(emotion, .safety)) → a person takes over at once")
        }
        // A danger cue under a negation (「我没想自杀，就是撑不下去了」) still goes to a person
        // unless the model is sure the message is about something calm (「热水器打不着火」).
        if emotion.hasNegated(.safety), hasModel, safety >= t.safetyModel / 2 {
            return RouteDecision(route: .handoff, reason: .safety,
                                 rule: "safety cue under a negation \(cueList(emotion, .safety, negated: true)) and handoff model safety \(twoDecimals(safety)) ≥ \(twoDecimals(t.safetyModel / 2)) → a person takes over at once")
        }
        // The model alone calls danger only when the knowledge base agrees (a safety entry is
        // among the candidates), it is sure, or money has been lost (「被骗了十万，我想从楼上跳
        // 下去」: the scam entries outrank the safety ones, and money never outranks a life):
        // unigrams of an unfamiliar chat (「星座运势」) otherwise look like anything.
        if safety >= t.safetyModel,
           safety >= Self.sureOfDanger || emotion.has(.money)
            || u.candidates.prefix(3).contains(where: { kb.topics[$0.topic]?.handoffReason == .safety && $0.probability >= t.floor }) {
            return RouteDecision(route: .handoff, reason: .safety,
                                 rule: "handoff model: safety \(twoDecimals(safety)) ≥ \(twoDecimals(t.safetyModel)) → a person takes over at once")
        }
        // Money already lost always goes to a person: its cues say that it happened (被盗刷, 被骗了).
        if emotion.has(.money) {
            return RouteDecision(route: .handoff, reason: .money, rule: "money-loss cue \(cueList(emotion, .money)) → a person takes over")
        }
        // Threat cues, anger without intensity and the handoff topics (投诉) are words with calm
        // uses: 「我不打算去12315」, 「不是投诉，就问下…」. When the model is sure the message is
        // calm, they do not hand off.
        let vetoed = calm >= t.calmVeto
        // The loss named only in a supposition or guarded against (「万一卡被盗刷了怎么办」):
        // neither the money cue nor the model's money reading of those words hands off.
        let moneySupposed = emotion.hasNegated(.money) && !emotion.has(.money)
        if emotion.has(.threat), !vetoed {
            return RouteDecision(route: .handoff, reason: .threat, rule: "threat cue \(cueList(emotion, .threat)) → a person takes over")
        }
        if emotion.level >= t.emotionHandoff, !vetoed || Self.angerOutweighsCalm(emotion) {
            // High because the model reads a threat (「再不退钱我就找媒体」 without a listed cue):
            // the reason is the threat, so the ticket tells the agent what they face.
            if let model = u.handoff, let likeliest = model.likeliestReason, likeliest.reason == .threat, likeliest.probability >= t.handoffModel {
                return RouteDecision(route: .handoff, reason: .threat,
                                     rule: "emotion \(emotion.level.rawValue) (score \(twoDecimals(emotion.score))) and handoff model: threat \(twoDecimals(likeliest.probability)) ≥ \(twoDecimals(t.handoffModel)) → a person takes over")
            }
            return RouteDecision(route: .handoff, reason: .emotion,
                                 rule: "emotion \(emotion.level.rawValue) (score \(twoDecimals(emotion.score))) ≥ \(t.emotionHandoff.rawValue) → a person takes over")
        }
        // "Can I talk to someone about my loan?": a person asked for in so many words.
        if let phrase = kb.acts.requestInWords(u.normalized) {
            return RouteDecision(route: .handoff, reason: .requested, rule: "a person asked for in words (\"\(phrase)\") → a person takes over")
        }
        // Two weaker readings that agree: the lexicon by itself reads the customer upset (「第五次了」,
        // 「求求你们了…没人管」) and the model, though split between reasons, gives calm little
        // (urgency ≥ `handoff_model`). On the blind development file every calm question read
        // upset had the model at calm ≥ 0.88; every missed upset customer at ≤ 0.35.
        if emotion.level >= .upset, emotion.modelAnger == nil, let model = u.handoff, model.urgency >= t.handoffModel {
            // The model's likeliest reason names the case (「我已经投诉过好几次了」: complaint); danger
            // it has not confirmed above is not called danger here.
            let likeliest = model.likeliestReason?.reason ?? .emotion
            return RouteDecision(route: .handoff, reason: likeliest == .safety ? .emotion : likeliest,
                                 rule: "emotion \(emotion.level.rawValue) (score \(twoDecimals(emotion.score))) and handoff model urgency \(twoDecimals(model.urgency)) ≥ \(twoDecimals(t.handoffModel)) (calm \(twoDecimals(calm))) → a person takes over")
        }
        // 「不需要人工客服，帮我查下快递」, "I don't want to talk to a human": a person declined in
        // so many words is no request for one, whatever the model makes of 人工 and human.
        var declinedReading: String?? = nil
        func declined() -> String? {
            if let reading = declinedReading { return reading }
            let reading = kb.acts.declinesPerson(u.normalized)
            declinedReading = .some(reading)
            return reading
        }
        if !vetoed, let model = u.handoff, let likeliest = model.likeliestReason, likeliest.probability >= t.handoffModel,
           kb.topics[u.topic]?.route != .handoff || likeliest.reason != .complaint, likeliest.reason != .requested || declined() == nil,
           likeliest.reason != .money || !moneySupposed {
            var decision = RouteDecision(route: .handoff, reason: likeliest.reason,
                                         rule: "handoff model: \(likeliest.reason.rawValue) \(twoDecimals(likeliest.probability)) ≥ \(twoDecimals(t.handoffModel)) (calm \(twoDecimals(calm))) → a person takes over")
            decision.byModelAlone = u.emotion.cues.isEmpty
            return decision
        }
        // Another company's business (「淘宝退货怎么弄」「招商银行的客服电话」): this company's
        // returns or hotline would be a wrong answer however close the words are.
        if let other = kb.otherCompanyNamed(u.normalized) {
            var decision = RouteDecision(route: .fallback, reason: nil,
                                         rule: "names another company (\(other)), not this one nor its products → out of scope")
            decision.otherCompany = other
            return decision
        }
        let coverage = u.ranking.knownFeatureShare
        // Nothing to answer with: no familiar words, no entry above the floor, or out of scope.
        let unanswerable = coverage < t.coverage || (top?.probability ?? 0) < t.floor || top?.topic == KnowledgeBase.outOfScopeTopic
        if unanswerable, !vetoed, let model = u.handoff, let likeliest = model.likeliestReason, likeliest.reason != .safety,
           likeliest.reason != .requested || declined() == nil, likeliest.reason != .money || !moneySupposed,
           likeliest.probability >= t.handoffUnanswered, likeliest.probability > calm {
            var decision = RouteDecision(route: .handoff, reason: likeliest.reason,
                                         rule: "no answer, and handoff model: \(likeliest.reason.rawValue) \(twoDecimals(likeliest.probability)) ≥ \(twoDecimals(t.handoffUnanswered)) and above calm \(twoDecimals(calm)) → a person takes over")
            decision.leaning = true
            decision.byModelAlone = u.emotion.cues.isEmpty
            return decision
        }
        if coverage < t.coverage {
            return RouteDecision(route: .fallback, reason: nil,
                                 rule: "only \(Int(coverage * 100))% of the message's n-grams are known to the knowledge base (< \(Int(t.coverage * 100))%)")
        }
        // The safety entries are many ways of saying "danger"; a message they win only on
        // n-grams (「星座运势看下」) is not danger unless the handoff model sees some too — as
        // much as it needs on its own when the entry itself is unsure (「资料我已经填好了」
        // shares 我已经…好了 with 我已经写好遗书了).
        // A safety entry nearly certain of the message (「好绝望 看不到任何出路」 at 0.99) needs no
        // confirmation: only a model sure the message is calm doubts it, as with a negated cue.
        let dangerNeeded = (top?.probability ?? 0) >= t.answer ? t.safetyModel / 2 : t.safetyModel
        let sureEntry = (top?.probability ?? 0) >= Self.sureOfDanger && calm < t.calmVeto
        let unsafeTopicDoubted = top.map { kb.topics[$0.topic]?.handoffReason == .safety } == true && hasModel && safety < dangerNeeded && !sureEntry
        let personDeclined = top.map { kb.topics[$0.topic]?.handoffReason == .requested } == true && declined() != nil
        // An entry that hands money already lost to a person (「卡被盗刷了」) is set aside the same
        // way when the loss is only supposed (「如果被盗刷了怎么办」「想防止卡被盗刷」) or the model
        // is sure the message is calm: those are questions the other entries answer.
        let setAsideMoney = vetoed || moneySupposed
        func goesToPerson(_ c: Candidate) -> Bool {
            if kb.topics[c.topic]?.route == .handoff { return true }
            let entry = kb.entries[c.entryIndex]
            return setAsideMoney && entry.alwaysHandOff && kb.handoffReason(of: entry) == .money
        }
        // A handoff topic close behind the top one (「不是投诉哈，我就问下退货要怎么弄」: return_goods
        // 0.5, complaint 0.36) is set aside the same way when the model is sure the message is calm.
        let handoffTop = top.map(goesToPerson) == true
        let setAside = handoffTop ? top : vetoed ? u.candidates.dropFirst().first.flatMap { goesToPerson($0) ? $0 : nil } : nil
        if let setAside, vetoed || unsafeTopicDoubted || personDeclined || moneySupposed {
            // The other candidates, their probabilities given that the message is not about
            // the handoff topic: 「我不是要投诉，就想问退货流程」 is return_goods at 0.18 beside
            // a complaint at 0.78, and 0.82 once the complaint is set aside.
            let kept = u.candidates.filter { !goesToPerson($0) }
            let removed = u.candidates.filter(goesToPerson).reduce(Float(0)) { $0 + $1.probability }
            let scale = removed < 1 ? 1 / (1 - removed) : 1
            let others = kept.map { $0.withProbability(min(1, $0.probability * scale)) }
            // The model's calm reading still stands when only a runner-up was set aside
            // (「急死了，存款证明开出来要几天」 is no emotion handoff).
            let calmer = Understanding(normalized: u.normalized, candidates: others, emotion: u.emotion, ranking: u.ranking, handoff: handoffTop ? nil : u.handoff)
            let decision = decide(calmer, in: kb)
            let why = vetoed ? " — but the handoff model reads it as calm (\(twoDecimals(calm)) ≥ \(twoDecimals(t.calmVeto)))"
                : personDeclined ? " — but the customer declines a person (a negation before 「\(declined() ?? "")」)"
                : moneySupposed && !unsafeTopicDoubted ? " — but the loss is only supposed (\(cueList(emotion, .money, negated: true)))"
                : " — but the handoff model sees no danger (safety \(twoDecimals(safety)) < \(twoDecimals(dangerNeeded)))"
            var result = RouteDecision(route: decision.route, reason: decision.reason,
                                       rule: "\(setAside.entryID) (topic \(setAside.topic)) would go to a person\(why): \(decision.rule)")
            result.topic = decision.topic ?? (decision.route == .fallback ? nil : calmer.top?.topic)
            result.unsure = decision.unsure
            result.leaning = decision.leaning
            result.byModelAlone = decision.byModelAlone
            result.candidates = decision.candidates ?? others
            return result
        }
        if let top, top.probability >= t.floor, let topic = kb.topics[top.topic], topic.route == .handoff {
            // Unsure between a handoff topic and a close answerable one (投诉 vs 投诉进度):
            // ask which the customer means rather than queue a case that needs no person.
            let sureComplaint = topic.handoffReason == .complaint && (u.handoff?.probability(HandoffReason.complaint.rawValue) ?? 0) >= t.handoffModel
            if top.probability < t.answer, !sureComplaint,
               let second = u.candidates.dropFirst().first(where: { $0.topic != top.topic }),
               kb.topics[second.topic]?.route == .answer, top.probability - second.probability < t.margin {
                return RouteDecision(route: .clarify, reason: nil,
                                     rule: "\(top.topic) \(twoDecimals(top.probability)) is within margin \(twoDecimals(t.margin)) of \(second.entryID) \(twoDecimals(second.probability)) → ask which is meant")
            }
            let reason = topic.handoffReason ?? .requested
            return RouteDecision(route: .handoff, reason: reason,
                                 rule: "topic \(top.topic) (confidence \(twoDecimals(top.probability)) ≥ floor \(twoDecimals(t.floor))) always goes to a person")
        }
        // The closest entries of the top topic together: a question split between three repair
        // entries (0.13, 0.10, …) is about repairs, not out of scope.
        // A question that names one of the company's products (「烘干机不怎么热了」) is in scope:
        // half the floor is enough for the closest entry.
        let topicConfidence = top.map { top in u.candidates.prefix(3).filter { $0.topic == top.topic }.reduce(Float(0)) { $0 + $1.probability } } ?? 0
        let asksSomething = Self.asksSomething(u.normalized)
        // Products are looked for only below the floor, where they can change the route.
        let product = top.flatMap { top in top.probability < t.floor && top.topic != KnowledgeBase.outOfScopeTopic && asksSomething
            ? kb.productNamed(u.normalized)?.product : nil }
        let inScopeFloor = product != nil ? t.floor / 2 : t.floor
        guard let top, top.probability >= inScopeFloor
                || topicConfidence >= inScopeFloor && top.topic != KnowledgeBase.outOfScopeTopic && asksSomething else {
            let p = top.map { twoDecimals($0.probability) } ?? "0"
            return RouteDecision(route: .fallback, reason: nil, rule: "top confidence \(p) < out-of-scope floor \(twoDecimals(t.floor))")
        }
        if top.topic == KnowledgeBase.outOfScopeTopic {
            return RouteDecision(route: .fallback, reason: nil, rule: "closest to the out-of-scope examples (\(top.entryID), confidence \(twoDecimals(top.probability)))")
        }
        // One character (「卡」) names a subject, not a question: however sure the model is
        // about the entry, ask which of its questions is meant.
        let letters = u.normalized.scalars.filter { CharacterClass.of($0) != .separator }
        if letters.count == 1, CharacterClass.of(letters[0]) == .ideograph, !KnowledgeBase.smallTalkTopics.contains(top.topic),
           u.candidates.dropFirst().contains(where: { $0.topic != KnowledgeBase.outOfScopeTopic && $0.probability >= t.floor / 4 }) {
            return RouteDecision(route: .clarify, reason: nil, rule: "a one-character message is too short to answer → offer choices")
        }
        let entry = kb.entries[top.entryIndex]
        let threshold = entry.threshold ?? t.answer
        // Sure of the topic though split between its entries (报修: 「how to apply」 0.34, 「it is
        // broken」 0.40): the closest entry answers; a menu of one topic's entries helps nobody.
        let sureOfTopic = entry.threshold == nil && topicConfidence >= threshold && asksSomething
        // A question that names one of the products leans from the lower floor it is in scope
        // from (「how do I use the self-clean mode on my oven」 at 0.12): answered, the runner-up named.
        let leanFrom = product != nil && t.leanAnswer < t.answer ? min(t.leanAnswer, inScopeFloor) : t.leanAnswer
        let leans = entry.threshold == nil && top.probability >= leanFrom && asksSomething
        // Leaning below `lean_answer` because a product is named, in the rule's words.
        let productLean = top.probability < t.leanAnswer
            ? "a product named (\(product ?? "")) and confidence \(twoDecimals(top.probability)) ≥ half the floor \(twoDecimals(inScopeFloor))" : nil
        if top.probability < threshold, !sureOfTopic, !leans {
            let why = top.probability >= t.floor
                ? "confidence \(twoDecimals(top.probability)) between floor \(twoDecimals(t.floor)) and answer threshold \(twoDecimals(threshold))"
                    + (top.probability >= leanFrom ? " (\(entry.threshold != nil ? "the entry's own threshold" : "a bare subject"): no lean answer)" : "")
                : product != nil && top.probability >= inScopeFloor
                ? "a product named (\(product!)) and confidence \(twoDecimals(top.probability)) ≥ half the floor \(twoDecimals(inScopeFloor))"
                : "topic \(top.topic) \(twoDecimals(topicConfidence)) over its closest entries ≥ floor \(twoDecimals(inScopeFloor)), no entry above it (\(twoDecimals(top.probability)))"
            return RouteDecision(route: .clarify, reason: nil, rule: why + " → offer choices")
        }
        if let second = u.candidates.dropFirst().first(where: { $0.topic != top.topic && $0.topic != KnowledgeBase.outOfScopeTopic }),
           top.probability - second.probability < t.margin {
            // Two topics close together: a question the bot may lean on is answered with the
            // closer one and the other named (one 「不是」 away), as below the answer threshold.
            if leans, t.leanAnswer < t.answer, !entry.alwaysHandOff {
                var decision = RouteDecision(route: .answer, reason: nil,
                                             rule: "margin \(twoDecimals(top.probability - second.probability)) to \(second.entryID) < \(twoDecimals(t.margin)), \(productLean ?? "confidence \(twoDecimals(top.probability)) ≥ lean answer \(twoDecimals(t.leanAnswer))") → the closest answers, \(second.entryID) named")
                decision.unsure = true
                return decision
            }
            return RouteDecision(route: .clarify, reason: nil,
                                 rule: "margin \(twoDecimals(top.probability - second.probability)) to \(second.entryID) < \(twoDecimals(t.margin)) → offer choices")
        }
        if entry.alwaysHandOff {
            let reason = kb.handoffReason(of: entry)
            return RouteDecision(route: .handoff, reason: reason,
                                 rule: "confidence \(twoDecimals(top.probability)) for entry \(entry.id), marked `handoff: \(entry.handoffReason?.rawValue ?? "true")` → a person takes over (\(reason.rawValue))")
        }
        if top.probability < threshold, sureOfTopic {
            return RouteDecision(route: .answer, reason: nil,
                                 rule: "topic \(top.topic) \(twoDecimals(topicConfidence)) over its closest entries ≥ answer threshold \(twoDecimals(threshold)) (entry \(twoDecimals(top.probability))) → the closest answers")
        }
        if top.probability < threshold {
            var decision = RouteDecision(route: .answer, reason: nil,
                                         rule: (productLean ?? "confidence \(twoDecimals(top.probability)) between lean answer \(twoDecimals(t.leanAnswer)) and answer threshold \(twoDecimals(threshold))")
                                            + ", ahead of other topics by the margin → the closest answers, the runner-up named")
            decision.unsure = true
            return decision
        }
        return RouteDecision(route: .answer, reason: nil,
                             rule: "confidence \(twoDecimals(top.probability)) ≥ answer threshold \(twoDecimals(threshold))")
    }

    /// More than a subject (「信用卡」, "card"): five characters, or three words in English,
    /// are enough to say what about it.
    static func asksSomething(_ n: NormalizedText) -> Bool {
        let ideographs = n.scalars.filter { CharacterClass.of($0) == .ideograph }.count
        if ideographs >= 5 { return true }
        return n.original.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).count - ideographs >= 3
    }

    /// The model's safety probability at which it calls danger without a safety entry agreeing.
    static let sureOfDanger: Float = 0.9

    /// Anger the lexicon reads with intensity (「！！！」), or that is unmistakable, is never
    /// talked down by a calm reading of the model. Only anger counts here: threat, money and
    /// safety cues have rules of their own, and urgency is not anger — 「我是律师，想问下…」
    /// (a threat cue) and 「急急急 外币今天还能换吗」 (anxiety) are calm questions.
    static func angerOutweighsCalm(_ e: EmotionReading) -> Bool {
        guard e.cues.contains(where: { !$0.negated && Self.angerCategories.contains($0.category) }) || e.modelAnger != nil else { return false }
        if e.modelAnger == nil && !e.intensity.isEmpty { return true }
        var calmness: Float = 1
        for cue in e.cues where !cue.negated && Self.angerCategories.contains(cue.category) { calmness *= 1 - min(max(cue.weight, 0), 1) }
        for (_, w) in e.intensity { calmness *= 1 - w }
        return max(1 - calmness, e.modelAnger ?? 0) >= 0.9
    }
    static let angerCategories: Set<EmotionCategory> = [.anger, .insult, .repeat]

    private static func cueList(_ e: EmotionReading, _ category: EmotionCategory, negated: Bool = false) -> String {
        e.cues.filter { $0.category == category && $0.negated == negated }.map { "「\($0.cue)」" }.joined(separator: " ")
    }
}

extension KnowledgeBase {
    /// The route for `u` by this knowledge base's topics and thresholds (the `Router`). An
    /// extension here so that compiling knowledge never depends on deciding.
    public func route(_ u: Understanding) -> RouteDecision { Router.decide(u, in: self) }
}
