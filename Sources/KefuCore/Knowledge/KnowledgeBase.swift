/// An FAQ entry compiled for matching: its keywords normalised like messages.
public struct CompiledEntry: Sendable {
    public let entry: FAQEntry
    let boost: [KeywordMatcher.Keyword]
    let require: [KeywordMatcher.Keyword]
    let exclude: [KeywordMatcher.Keyword]

    public var id: String { entry.id }
    public var topic: String { entry.topic }
    public var threshold: Float? { entry.threshold }
    public var alwaysHandOff: Bool { entry.alwaysHandOff }
    /// The reason the entry names for its handoff (`handoff: money`), nil for the topic's.
    public var handoffReason: HandoffReason? { entry.handoffReason }
    /// The answers with company values filled in, once, at compile time.
    public let filledAnswers: [String]
    /// English answers, filled in the same way (empty when the entry has none).
    public let filledEnglishAnswers: [String]
    /// Follow-up answers with their cues normalised like messages.
    let followUps: [(cues: [KeywordMatcher.Keyword], answer: String, englishAnswer: String?)]

    init(entry: FAQEntry, boost: [KeywordMatcher.Keyword], require: [KeywordMatcher.Keyword], exclude: [KeywordMatcher.Keyword],
         filledAnswers: [String]? = nil, company: CompanyProfile? = nil, normalizer: TextNormalizer? = nil) {
        self.entry = entry
        self.boost = boost
        self.require = require
        self.exclude = exclude
        self.filledAnswers = filledAnswers ?? entry.answers.map(\.text)
        let fill = { (text: String) in company?.fill(text) ?? text }
        let english = company?.inEnglish
        filledEnglishAnswers = entry.englishAnswers.map { english?.fill($0.text) ?? $0.text }
        let n = normalizer ?? TextNormalizer()
        followUps = entry.followUps.map { f in
            (f.cues.map { KeywordMatcher.keyword($0, weight: 1, normalizer: n) }, fill(f.answer), f.englishAnswer.map { english?.fill($0) ?? $0 })
        }
    }

    /// The follow-up answer whose cue occurs in `message`, if any (the first listed wins).
    public func followUp(for message: NormalizedText) -> (cue: String, answer: String, englishAnswer: String?)? {
        for f in followUps {
            if let cue = f.cues.first(where: { KeywordMatcher.occurs($0, in: message.scalars) }) { return (cue.text, f.answer, f.englishAnswer) }
        }
        return nil
    }
}

/// One entry the message may be about, with its probability and the keywords that moved it.
public struct Candidate: Sendable, Equatable {
    public let entryIndex: Int
    public let entryID: String
    public let topic: String
    public let probability: Float
    /// Keywords found in the message and the effect each had on this entry.
    public let keywordEffects: [KeywordEffect]

    /// The keyword effects as an editor reads them: 「退款 +1」, "required keyword missing".
    public var keywords: [String] { keywordEffects.map(\.description) }

    /// The same candidate at another probability (renormalised once others are set aside).
    public func withProbability(_ p: Float) -> Candidate {
        Candidate(entryIndex: entryIndex, entryID: entryID, topic: topic, probability: p, keywordEffects: keywordEffects)
    }
}

/// What one of an entry's keywords did to its score for a message. Kept as data and put
/// into words only when someone asks for an explanation: formatting the weights of every
/// matched keyword was a sixth of the engine's time per message.
public enum KeywordEffect: Sendable, Equatable, CustomStringConvertible {
    case boosted(String, weight: Float)
    case requiredMissing
    case excluded(String)

    public var description: String {
        switch self {
        case .boosted(let text, let weight): "\(text) +\(twoDecimals(weight))"
        case .requiredMissing: "required keyword missing"
        case .excluded(let text): "\(text) excluded"
        }
    }
}

/// Everything the understanding stage says about one message.
public struct Understanding: Sendable {
    public let normalized: NormalizedText
    /// The most probable entries, best first (at most five).
    public let candidates: [Candidate]
    /// The lexicon's reading, raised to the model's anger when that is higher.
    public let emotion: EmotionReading
    public let ranking: Ranking
    /// The learned handoff model's reading (nil without `Intents/handoff/`).
    public var handoff: HandoffReading? = nil

    public var top: Candidate? { candidates.first }
    /// The topic, or `out_of_scope`.
    public var topic: String { top?.topic ?? KnowledgeBase.outOfScopeTopic }

    /// The same reading with other candidates (the handoff topics set aside, for one).
    public func with(candidates: [Candidate]) -> Understanding {
        Understanding(normalized: normalized, candidates: candidates, emotion: emotion, ranking: ranking, handoff: handoff)
    }
}

/// The compiled, immutable knowledge base: what the bot serves from. A reload compiles a
/// new one and swaps it in whole; a broken edit never replaces a working one.
public struct KnowledgeBase: Sendable {
    public static let outOfScopeTopic = "out_of_scope"
    /// Greetings, thanks and goodbyes: answered, but never a customer's question (not offered
    /// as a choice, not counted as a topic served, not what a follow-up is read with).
    public static let smallTalkTopics: Set<String> = ["greeting", "thanks", "goodbye"]
    /// Praise and ratings: an angry message that reads as praise is sarcasm, with no subject in it.
    public static let praiseTopic = "satisfaction_feedback"

    public let folder: String
    public let entries: [CompiledEntry]
    public let entryIndex: [String: Int]
    public let topics: [String: Topic]
    /// Topic ids in file order.
    public let topicOrder: [String]
    public let company: CompanyProfile
    public let phrases: StandardPhrases
    /// Agents' canned replies, for the console.
    public let canned: [CannedReply]
    public let thresholds: Thresholds
    public let classifier: IntentClassifier
    public let emotion: EmotionDetector
    /// Problems that did not stop the build (shown by `kefu lint`).
    public let warnings: [LoadProblem]
    public let compileSeconds: Double
    /// The short replies that steer a conversation (`Intents/acts.txt`).
    public let acts: DialogueActLexicon
    /// Calm or which kind of handoff, learned from `Intents/handoff/`.
    public let handoffModel: HandoffModel?

    /// Standard phrases with company values filled in, once, at compile time.
    public let filledPhrases: [String: String]
    /// The same phrases split into their variants (`a | b | c`), once, so a reply only picks one.
    let phraseForms: [String: [String]]
    /// The entry of each classifier class.
    let entryOfClass: [Int]
    /// Every keyword of every entry, in entry order (boost, then require, then exclude), the
    /// role each plays for its entry, and where each may start. The per-message work is then
    /// proportional to the keywords a message contains, not to the number of entries.
    let allKeywords: [KeywordMatcher.Keyword]
    let keywordRoles: [KeywordRole]
    let keywordsByFirstScalar: [UInt32: [Int]]
    /// Classes with required keywords: blocked unless one of them occurs.
    let classesWithRequirements: [Int]
    /// The company's products (`products:` of the topics), by topic, normalised like messages.
    let productCues: [(topic: String, cues: [KeywordMatcher.Keyword])]
    /// Other companies' names and the words that mean this one (`Intents/others.txt`, the
    /// company's own name included), normalised like messages.
    let otherCompanyCues: KeywordSet
    let ownCues: KeywordSet

    enum Role: Sendable { case boost, require, exclude }
    struct KeywordRole: Sendable {
        let classIndex: Int
        let role: Role
    }

    init(folder: String, entries: [CompiledEntry], entryIndex: [String: Int], topics: [String: Topic], topicOrder: [String],
         company: CompanyProfile, phrases: StandardPhrases, thresholds: Thresholds, classifier: IntentClassifier,
         emotion: EmotionDetector, warnings: [LoadProblem], compileSeconds: Double, acts: DialogueActLexicon = .empty,
         handoffModel: HandoffModel? = nil, canned: [CannedReply] = [], others: OtherCompanies = OtherCompanies()) {
        self.folder = folder
        self.canned = canned
        self.acts = acts
        self.handoffModel = handoffModel
        self.entries = entries
        self.entryIndex = entryIndex
        self.topics = topics
        self.topicOrder = topicOrder
        self.company = company
        self.phrases = phrases
        self.thresholds = thresholds
        self.classifier = classifier
        self.emotion = emotion
        self.warnings = warnings
        self.compileSeconds = compileSeconds
        let english = company.inEnglish
        filledPhrases = Dictionary(uniqueKeysWithValues: phrases.values.map { key, text in
            (key, (key.hasPrefix(StandardPhrases.englishPrefix) ? english : company).fill(text))
        })
        phraseForms = filledPhrases.mapValues { $0.components(separatedBy: " | ") }
        entryOfClass = classifier.labels.map { entryIndex[$0]! }
        var all: [KeywordMatcher.Keyword] = []
        var roles: [KeywordRole] = []
        var byFirst: [UInt32: [Int]] = [:]
        for (classIndex, entry) in entryOfClass.enumerated() {
            let e = entries[entry]
            for (list, role) in [(e.boost, Role.boost), (e.require, .require), (e.exclude, .exclude)] {
                for keyword in list {
                    if let first = keyword.scalars.first { byFirst[first, default: []].append(all.count) }
                    all.append(keyword)
                    roles.append(KeywordRole(classIndex: classIndex, role: role))
                }
            }
        }
        allKeywords = all
        keywordRoles = roles
        keywordsByFirstScalar = byFirst
        let classEntries = entryOfClass
        classesWithRequirements = classEntries.indices.filter { !entries[classEntries[$0]].require.isEmpty }
        productCues = topicOrder.compactMap { id in
            guard let topic = topics[id], !topic.products.isEmpty else { return nil }
            return (id, topic.products.map { KeywordMatcher.keyword($0, weight: 1, normalizer: classifier.normalizer) })
        }
        let keyword = { (word: String) in KeywordMatcher.keyword(word, weight: 1, normalizer: classifier.normalizer) }
        otherCompanyCues = KeywordSet(others.names.map(keyword))
        let companyNames = [company.values["company_name"], english.values["company_name"]].compactMap { $0 }.filter { !$0.isEmpty }
        ownCues = KeywordSet(others.ours.isEmpty ? [] : (others.ours + companyNames).map(keyword))
    }

    /// The other company a message asks about (「淘宝退货怎么弄」 → 淘宝): named, with neither
    /// this company (你们, its name) nor one of its products in the message. Nil otherwise.
    public func otherCompanyNamed(_ n: NormalizedText) -> String? {
        guard let other = otherCompanyCues.firstListed(in: n.scalars) else { return nil }
        if ownCues.occurs(in: n.scalars) || productNamed(n) != nil { return nil }
        return other.text
    }

    /// The topic a person takes over for `reason` (`route: handoff`, `reason:` in
    /// `Intents/topics.txt`): safety for a danger, complaint for a complaint. The first listed.
    public func handoffTopic(for reason: HandoffReason) -> String? {
        topicOrder.first { topics[$0]?.route == .handoff && topics[$0]?.handoffReason == reason }
    }

    /// The first product the message names and its topic (「烘干机」 → repair_request), if any.
    public func productNamed(_ n: NormalizedText) -> (product: String, topic: String)? {
        for (topic, cues) in productCues {
            if let cue = cues.first(where: { KeywordMatcher.occurs($0, in: n.scalars) }) { return (cue.text, topic) }
        }
        return nil
    }

    /// Logit added per unit of keyword weight. A weight of 1 multiplies the odds by e.
    static let boostScale: Float = 1
    static let blocked: Float = -40

    /// Why answering `entry` hands off, for an entry marked `handoff:`: the reason it names,
    /// else its topic's.
    public func handoffReason(of entry: CompiledEntry) -> HandoffReason {
        entry.handoffReason ?? topics[entry.topic]?.handoffReason ?? .requested
    }

    public func understand(_ text: String) -> Understanding {
        understand(classifier.normalizer.normalize(text))
    }

    public func understand(_ normalized: NormalizedText) -> Understanding {
        let s = normalized.scalars
        // Which keywords occur: one pass over the message, looking up keywords by their
        // first character, instead of one scan of the message per keyword.
        var present = [Bool](repeating: false, count: allKeywords.count)
        var found: [Int] = []
        for start in s.indices {
            guard let candidates = keywordsByFirstScalar[s[start]] else { continue }
            for k in candidates where !present[k] && KeywordMatcher.occurs(allKeywords[k], in: s, at: start) {
                present[k] = true
                found.append(k)
            }
        }
        guard !found.isEmpty || !classesWithRequirements.isEmpty else {
            return understood(normalized, adjustments: nil, notes: [:])
        }
        var adjustments = [Float](repeating: 0, count: entries.count)
        var notes: [Int: [KeywordEffect]] = [:]
        var requirementMet = Set<Int>()
        for k in found.sorted() {
            let keyword = allKeywords[k], owner = keywordRoles[k]
            switch owner.role {
            case .boost:
                adjustments[owner.classIndex] += keyword.weight * Self.boostScale
                notes[owner.classIndex, default: []].append(.boosted(keyword.text, weight: keyword.weight))
            case .require:
                requirementMet.insert(owner.classIndex)
            case .exclude:
                adjustments[owner.classIndex] += Self.blocked
                notes[owner.classIndex, default: []].append(.excluded(keyword.text))
            }
        }
        for classIndex in classesWithRequirements where !requirementMet.contains(classIndex) {
            adjustments[classIndex] += Self.blocked
            notes[classIndex, default: []].append(.requiredMissing)
        }
        return understood(normalized, adjustments: adjustments, notes: notes)
    }

    private func understood(_ normalized: NormalizedText, adjustments: [Float]?, notes: [Int: [KeywordEffect]]) -> Understanding {
        let ranking = classifier.rank(normalized, logitAdjustments: adjustments)
        let candidates = ranking.top.map { scored -> Candidate in
            let index = entryOfClass[scored.classIndex]
            return Candidate(entryIndex: index, entryID: entries[index].id, topic: entries[index].topic,
                             probability: scored.probability, keywordEffects: notes[scored.classIndex] ?? [])
        }
        let handoff = handoffModel?.read(normalized)
        var reading = emotion.read(normalized)
        if let handoff { reading = reading.raised(toModelAnger: handoff.anger, from: thresholds.angerModel) }
        return Understanding(normalized: normalized, candidates: candidates, emotion: reading, ranking: ranking, handoff: handoff)
    }

    /// The n-grams that pushed `candidate` up, for explanations.
    public func contributions(_ u: Understanding, for candidate: Candidate, limit: Int = 8) -> [(feature: String, weight: Float)] {
        guard let classIndex = classifier.labels.firstIndex(of: candidate.entryID) else { return [] }
        return classifier.contributions(of: u.ranking, to: classIndex, limit: limit)
    }

}
