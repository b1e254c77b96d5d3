import Foundation

/// Reads `FAQ/` and `Intents/` from a folder, checks them, and compiles a `KnowledgeBase`.
///
/// Every problem in every file is collected before giving up, so one run tells an editor
/// everything to fix; with any error the knowledge base is not built at all.
public enum KnowledgeLoader {
    public static let canonicalTopics = [
        "greeting", "thanks", "goodbye", "human_agent", "complaint", "complaint_progress", "suggestion",
        "order_status", "account_query", "points", "bill_payment", "appointment", "service_activation",
        "repair_request", "repair_progress", "return_refund", "product_usage", "business_policy",
        "service_hours", "contact_channels", "privacy", "satisfaction_feedback", "online_banking", "card_service",
    ]

    /// The knowledge base folder to use when none is given: `$KEFU_KB`, else the working
    /// directory when it holds `FAQ/` and `Intents/`.
    public static func defaultFolder() -> String {
        if let env = ProcessInfo.processInfo.environment["KEFU_KB"], !env.isEmpty { return env }
        return FileManager.default.currentDirectoryPath
    }

    public static func load(from folder: String, features: FeatureSettings = .knowledgeBase,
                            training: TrainingSettings = TrainingSettings(), limits: KnowledgeLimits = .standard) throws -> KnowledgeBase {
        let start = Measure.now()
        var problems: [LoadProblem] = []
        let source = readSource(folder, problems: &problems, limits: limits)
        let errors = problems.filter { $0.severity == .error }
        guard errors.isEmpty, let source else {
            throw KnowledgeLoadError(problems: problems.filter { $0.severity == .error }.sorted())
        }
        let normalizer = TextNormalizer(synonyms: source.synonyms)
        let active = source.entries.filter { !$0.isDraft }
        var examples: [LabelledText] = []
        for entry in active {
            for q in entry.questions { examples.append(LabelledText(text: q.text, label: entry.id)) }
        }
        let handoffExamples = handoffTrainingSet(source)
        let phrasings = examples
        let (classifier, handoffModel) = bothAtOnce(
            { IntentClassifier.train(phrasings, normalizer: normalizer, features: features, training: training) },
            { HandoffModel.train(handoffExamples, normalizer: normalizer) })
        var compiled: [CompiledEntry] = []
        var index: [String: Int] = [:]
        for entry in active {
            index[entry.id] = compiled.count
            let k = { (list: [FAQEntry.Keyword]) in list.map { KeywordMatcher.keyword($0.word, weight: $0.weight, normalizer: normalizer) } }
            compiled.append(CompiledEntry(entry: entry, boost: k(entry.boost), require: k(entry.require), exclude: k(entry.exclude),
                                          filledAnswers: entry.answers.map { source.company.fill($0.text) },
                                          company: source.company, normalizer: normalizer))
        }
        return KnowledgeBase(folder: folder, entries: compiled, entryIndex: index, topics: source.topics, topicOrder: source.topicOrder,
                             company: source.company, phrases: source.phrases, thresholds: source.thresholds,
                             classifier: classifier, emotion: EmotionDetector(lexicon: source.lexicon),
                             warnings: problems.filter { $0.severity == .warning }.sorted(),
                             compileSeconds: Double(Measure.now() - start) / 1e9, acts: source.acts, handoffModel: handoffModel,
                             canned: source.canned, others: source.others)
    }

    /// The knowledge files as read, before compiling; `kefu lint` works on this too.
    public struct Source: Sendable {
        public var entries: [FAQEntry] = []
        public var topics: [String: Topic] = [:]
        public var topicOrder: [String] = []
        public var synonyms = SynonymTable.empty
        public var synonymPairs: [(variant: String, canonical: String, file: String, line: Int)] = []
        public var lexicon: [(category: EmotionCategory, cue: String, weight: Float)] = []
        public var phrases = StandardPhrases(values: [:])
        public var company = CompanyProfile(values: [:])
        public var thresholds = Thresholds()
        public var acts = DialogueActLexicon.empty
        /// Labelled messages for the handoff model (`Intents/handoff/<label>.txt`).
        public var handoffExamples: [LabelledText] = []
        /// Agents' canned replies (`Intents/canned.txt`, optional).
        public var canned: [CannedReply] = []
        /// Other companies, and the words that say a message is about this one (`Intents/others.txt`, optional).
        public var others = OtherCompanies()
    }

    public static func readSource(_ folder: String, problems: inout [LoadProblem], limits: KnowledgeLimits = .standard) -> Source? {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            problems.append(LoadProblem(file: folder, line: 0, "the knowledge base folder does not exist; pass --kb DIR with a folder holding FAQ/ and Intents/"))
            return nil
        }
        let intents = (folder as NSString).appendingPathComponent("Intents")
        let faq = (folder as NSString).appendingPathComponent("FAQ")
        for (path, what) in [(intents, "Intents"), (faq, "FAQ")] where !fm.fileExists(atPath: path) {
            problems.append(LoadProblem(file: display(path, in: folder), line: 0, "no \(what)/ folder here; run from the repository root or pass --kb DIR"))
        }
        if !problems.isEmpty { return nil }
        // Sizes first: a file too large is never read at all.
        let faqFiles = (fm.enumerator(atPath: faq)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".md") }
            .map { (faq as NSString).appendingPathComponent($0) }
        let intentFiles = ((try? fm.contentsOfDirectory(atPath: intents)) ?? []).map { (intents as NSString).appendingPathComponent($0) }
        problems += limits.check(files: (intentFiles + faqFiles).map { ($0, display($0, in: folder)) })
        if !problems.isEmpty { return nil }
        var source = Source()
        func sectioned(_ name: String, required: Bool = true) -> SectionedFile? {
            let path = (intents as NSString).appendingPathComponent(name)
            if !required && !fm.fileExists(atPath: path) { return nil }
            guard let lines = TextLines.read(path, displayPath: display(path, in: folder), problems: &problems) else { return nil }
            return SectionedFile.parse(lines, problems: &problems)
        }
        if let file = sectioned("company.txt") { source.company = readCompany(file, problems: &problems) }
        if let file = sectioned("topics.txt") { (source.topics, source.topicOrder) = readTopics(file, problems: &problems) }
        if let file = sectioned("synonyms.txt") {
            source.synonymPairs = readSynonyms(file, problems: &problems)
            source.synonyms = SynonymTable(pairs: source.synonymPairs.map {
                (String(decoding: TextNormalizer.fold($0.variant)), String(decoding: TextNormalizer.fold($0.canonical)))
            })
        }
        if let file = sectioned("emotion.txt") { source.lexicon = readLexicon(file, problems: &problems) }
        if let file = sectioned("phrases.txt") { source.phrases = readPhrases(file, company: source.company, problems: &problems) }
        if let file = sectioned("thresholds.txt", required: false) { source.thresholds = readThresholds(file, problems: &problems) }
        if let file = sectioned("acts.txt") { source.acts = readActs(file, problems: &problems) }
        if let file = sectioned("canned.txt", required: false) { source.canned = readCanned(file, company: source.company, problems: &problems) }
        if let file = sectioned("others.txt", required: false) { source.others = readOthers(file, problems: &problems) }
        source.handoffExamples = readHandoffExamples((intents as NSString).appendingPathComponent("handoff"), folder: folder, problems: &problems)
        source.entries = readEntries(faq, folder: folder, problems: &problems)
        checkEntries(source, problems: &problems)
        return source
    }

    static func display(_ path: String, in folder: String) -> String {
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        if path.hasPrefix(base) { return String(path.dropFirst(base.count)) }
        return path
    }

    private static func readCompany(_ file: SectionedFile, problems: inout [LoadProblem]) -> CompanyProfile {
        guard let section = file.section("company") else {
            problems.append(LoadProblem(file: file.path, line: 1, "missing [company] section"))
            return CompanyProfile(values: [:])
        }
        var values: [String: String] = [:]
        for item in section.items {
            guard let key = item.key else {
                problems.append(LoadProblem(file: file.path, line: item.line, "expected `key: value`"))
                continue
            }
            values[key] = item.value
        }
        var english: [String: String] = [:]
        for item in file.section("company.en")?.items ?? [] {
            guard let key = item.key, values[key] != nil else {
                problems.append(LoadProblem(file: file.path, line: item.line, "[company.en] gives English forms of [company] values: write `key: value` with a key of [company]"))
                continue
            }
            english[key] = item.value
        }
        return CompanyProfile(values: values, english: english)
    }

    private static func readTopics(_ file: SectionedFile, problems: inout [LoadProblem]) -> ([String: Topic], [String]) {
        var topics: [String: Topic] = [:]
        var order: [String] = []
        for section in file.sections {
            var fields: [String: (String, Int)] = [:]
            for item in section.items { if let key = item.key { fields[key] = (item.value, item.line) } }
            let routeText = fields["route"]?.0 ?? "answer"
            guard let route = Route(rawValue: routeText), route == .answer || route == .handoff else {
                problems.append(LoadProblem(file: file.path, line: fields["route"]?.1 ?? section.line, "route '\(routeText)' must be answer or handoff"))
                continue
            }
            var reason: HandoffReason?
            if let (text, line) = fields["reason"] {
                reason = HandoffReason(rawValue: text)
                if reason == nil {
                    problems.append(LoadProblem(file: file.path, line: line, "unknown handoff reason '\(text)'; use one of \(HandoffReason.allCases.map(\.rawValue).joined(separator: ", "))"))
                }
            }
            topics[section.name] = Topic(id: section.name, name: fields["name"]?.0 ?? section.name, route: route,
                                         handoffReason: reason, examples: fields["examples"]?.0.commaList ?? [],
                                         englishName: fields["name_en"]?.0, products: fields["products"]?.0.commaList ?? [])
            order.append(section.name)
        }
        for id in canonicalTopics where topics[id] == nil {
            problems.append(LoadProblem(file: file.path, line: 1, "canonical topic [\(id)] is missing", severity: .warning))
        }
        return (topics, order)
    }

    private static func readSynonyms(_ file: SectionedFile, problems: inout [LoadProblem]) -> [(variant: String, canonical: String, file: String, line: Int)] {
        var pairs: [(String, String, String, Int)] = []
        var seen: [String: Int] = [:]
        for section in file.sections {
            for item in section.items {
                guard let canonical = item.key, !canonical.isEmpty else {
                    problems.append(LoadProblem(file: file.path, line: item.line, "expected `canonical: variant, variant`"))
                    continue
                }
                for variant in item.value.commaList where variant != canonical {
                    if let earlier = seen[variant] {
                        problems.append(LoadProblem(file: file.path, line: item.line, "variant '\(variant)' is already mapped on line \(earlier)"))
                        continue
                    }
                    seen[variant] = item.line
                    pairs.append((variant, canonical, file.path, item.line))
                }
            }
        }
        return pairs
    }

    private static func readLexicon(_ file: SectionedFile, problems: inout [LoadProblem]) -> [(category: EmotionCategory, cue: String, weight: Float)] {
        var lexicon: [(EmotionCategory, String, Float)] = []
        for section in file.sections {
            guard let category = EmotionCategory(rawValue: section.name) else {
                problems.append(LoadProblem(file: file.path, line: section.line, "unknown emotion section [\(section.name)]; use one of \(EmotionCategory.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            for item in section.items {
                let cue = item.key ?? item.value
                var weight: Float = 0.5
                if item.key != nil {
                    guard let w = Float(item.value), w >= 0, w <= 1 else {
                        problems.append(LoadProblem(file: file.path, line: item.line, "weight '\(item.value)' must be a number from 0 to 1"))
                        continue
                    }
                    weight = w
                }
                lexicon.append((category, cue, weight))
            }
        }
        return lexicon
    }

    /// The handoff model's examples: `Intents/handoff/`, plus every FAQ phrasing — calm for
    /// a topic the bot answers, the topic's reason for a handoff topic (转人工, 投诉, 人身安全),
    /// the entry's own reason when it names one (`handoff: money`).
    /// The FAQ's thousands of routine questions are what "calm" looks like in this centre;
    /// without them the model takes any unfamiliar routine question for an upset one.
    /// Nothing is added when `Intents/handoff/` is absent: the lexicon then decides alone.
    static func handoffTrainingSet(_ source: Source) -> [LabelledText] {
        guard !source.handoffExamples.isEmpty else { return [] }
        var examples = source.handoffExamples
        for entry in source.entries where !entry.isDraft {
            let topic = source.topics[entry.topic]
            let label = entry.handoffReason?.rawValue
                ?? (topic?.route == .handoff ? (topic?.handoffReason ?? .requested).rawValue : HandoffModel.calmLabel)
            for q in entry.questions.prefix(handoffPhrasingsPerEntry) { examples.append(LabelledText(text: q.text, label: label)) }
        }
        return examples
    }

    /// An entry's first phrasings speak for it in the handoff model's calm class. A cap keeps
    /// the classes' balance as editors add phrasings for the topic classifier: 1,120 more
    /// calm phrasings (session 7) cost 3–4 must-hand-off messages on each development file.
    static let handoffPhrasingsPerEntry = 24

    /// One customer message per line in `handoff/<label>.txt`; `#` starts a comment. The
    /// folder is optional: without it the router relies on the lexicon alone.
    private static func readHandoffExamples(_ path: String, folder: String, problems: inout [LoadProblem]) -> [LabelledText] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        var examples: [LabelledText] = []
        for name in names.sorted() where name.hasSuffix(".txt") {
            let label = String(name.dropLast(4))
            let file = (path as NSString).appendingPathComponent(name)
            guard HandoffModel.labels.contains(label) else {
                problems.append(LoadProblem(file: display(file, in: folder), line: 1, "unknown handoff label '\(label)': name the file after one of \(HandoffModel.labels.joined(separator: ", "))"))
                continue
            }
            guard let lines = TextLines.read(file, displayPath: display(file, in: folder), problems: &problems) else { continue }
            for raw in lines.lines {
                let text = raw.withoutComment.trimmed
                if !text.isEmpty { examples.append(LabelledText(text: text, label: label)) }
            }
        }
        return examples
    }

    /// `[act]` sections of phrasings (`- a, b, c`), `[rating]` of `phrasing: score`, and
    /// `[particles]`.
    private static func readOthers(_ file: SectionedFile, problems: inout [LoadProblem]) -> OtherCompanies {
        var others = OtherCompanies()
        for section in file.sections {
            let words = section.items.map { item in item.key.map { "\($0): \(item.value)" } ?? item.value }
            switch section.name {
            case "other_companies": others.names += words
            case "ours": others.ours += words
            default:
                problems.append(LoadProblem(file: file.path, line: section.line, "unknown section [\(section.name)]; use [other_companies] or [ours]"))
            }
        }
        return others
    }

    private static func readActs(_ file: SectionedFile, problems: inout [LoadProblem]) -> DialogueActLexicon {
        var phrases: [(text: String, act: DialogueAct, score: Int?)] = []
        var particles: [String] = []
        /// A phrasing's spellings (`(甲|乙)` choices), at most `ActPattern.maxSpellings`.
        func spelled(_ text: String, line: Int) -> [String] {
            let spellings = ActPattern.expand(text)
            if spellings.count > ActPattern.maxSpellings {
                problems.append(LoadProblem(file: file.path, line: line, "「\(text)」 spells \(spellings.count) phrasings (at most \(ActPattern.maxSpellings)); split it into several lines"))
            }
            return Array(spellings.prefix(ActPattern.maxSpellings))
        }
        for section in file.sections {
            if section.name == "particles" {
                for item in section.items { particles += item.value.commaList }
                continue
            }
            guard let act = DialogueAct(rawValue: section.name) else {
                problems.append(LoadProblem(file: file.path, line: section.line, "unknown dialogue act [\(section.name)]; use one of \(DialogueAct.allCases.map(\.rawValue).joined(separator: ", ")) or particles"))
                continue
            }
            for item in section.items {
                if act == .rating {
                    guard let text = item.key, let score = Int(item.value), (1...5).contains(score) else {
                        problems.append(LoadProblem(file: file.path, line: item.line, "a rating line must be `phrasing: score` with a score from 1 to 5"))
                        continue
                    }
                    for phrase in spelled(text, line: item.line) { phrases.append((phrase, .rating, score)) }
                } else {
                    for text in (item.key.map { "\($0): \(item.value)" } ?? item.value).commaList {
                        for phrase in spelled(text, line: item.line) { phrases.append((phrase, act, nil)) }
                    }
                }
            }
        }
        for act in DialogueAct.allCases where !phrases.contains(where: { $0.act == act }) {
            problems.append(LoadProblem(file: file.path, line: 1, "no phrasing for the dialogue act [\(act.rawValue)]: the conversation needs every act"))
        }
        return DialogueActLexicon(phrases: phrases, particles: particles)
    }

    private static func readPhrases(_ file: SectionedFile, company: CompanyProfile, problems: inout [LoadProblem]) -> StandardPhrases {
        var values: [String: String] = [:]
        for section in file.sections {
            // `[phrases]` is Chinese; `[phrases.en]` holds the English forms, kept as `en:key`.
            let prefix = section.name == "phrases.en" ? StandardPhrases.englishPrefix : ""
            for item in section.items {
                guard let key = item.key else { continue }
                values[prefix + key] = item.value
                for placeholder in CompanyProfile.placeholders(in: item.value)
                where company[placeholder] == nil && !StandardPhrases.runtimePlaceholders.contains(placeholder) {
                    problems.append(LoadProblem(file: file.path, line: item.line, "unknown placeholder {\(placeholder)}: add it to Intents/company.txt"))
                }
            }
        }
        for key in StandardPhrases.required where values[key] == nil {
            problems.append(LoadProblem(file: file.path, line: 1, "missing standard phrase '\(key)'"))
        }
        return StandardPhrases(values: values)
    }

    /// `[canned]` (Chinese) and `[canned.en]`: `title: text` lines, with company placeholders.
    private static func readCanned(_ file: SectionedFile, company: CompanyProfile, problems: inout [LoadProblem]) -> [CannedReply] {
        var replies: [CannedReply] = []
        for section in file.sections {
            guard section.name == "canned" || section.name == "canned.en" else {
                problems.append(LoadProblem(file: file.path, line: 1, "unknown section [\(section.name)]: use [canned] or [canned.en]"))
                continue
            }
            for item in section.items {
                guard let title = item.key, !item.value.isEmpty else {
                    problems.append(LoadProblem(file: file.path, line: item.line, "write a canned reply as `title: text`"))
                    continue
                }
                for placeholder in CompanyProfile.placeholders(in: item.value) where company[placeholder] == nil {
                    problems.append(LoadProblem(file: file.path, line: item.line, "unknown placeholder {\(placeholder)}: add it to Intents/company.txt"))
                }
                replies.append(CannedReply(title: title, text: company.fill(item.value), language: section.name == "canned.en" ? "en" : "zh"))
            }
        }
        return replies
    }

    private static func readThresholds(_ file: SectionedFile, problems: inout [LoadProblem]) -> Thresholds {
        var t = Thresholds()
        for section in file.sections {
            for item in section.items {
                guard let key = item.key else { continue }
                if key == "emotion_handoff" {
                    if let level = EmotionLevel(rawValue: item.value) { t.emotionHandoff = level }
                    else { problems.append(LoadProblem(file: file.path, line: item.line, "emotion_handoff must be calm, concerned, upset or high")) }
                    continue
                }
                guard let v = Float(item.value), v >= 0, v <= 1 else {
                    problems.append(LoadProblem(file: file.path, line: item.line, "'\(key)' must be a number from 0 to 1"))
                    continue
                }
                switch key {
                case "answer": t.answer = v
                case "lean_answer": t.leanAnswer = v
                case "floor": t.floor = v
                case "margin": t.margin = v
                case "coverage": t.coverage = v
                case "handoff_model": t.handoffModel = v
                case "handoff_unanswered": t.handoffUnanswered = v
                case "safety_model": t.safetyModel = v
                case "calm_veto": t.calmVeto = v
                case "anger_model": t.angerModel = v
                default: problems.append(LoadProblem(file: file.path, line: item.line, "unknown threshold '\(key)'; use answer, lean_answer, floor, margin, coverage, handoff_model, handoff_unanswered, safety_model, calm_veto, anger_model or emotion_handoff"))
                }
            }
        }
        return t
    }

    private static func readEntries(_ faq: String, folder: String, problems: inout [LoadProblem]) -> [FAQEntry] {
        let fm = FileManager.default
        guard let files = fm.enumerator(atPath: faq)?.compactMap({ $0 as? String }).filter({ $0.hasSuffix(".md") }).sorted() else { return [] }
        var entries: [FAQEntry] = []
        for relative in files {
            let path = (faq as NSString).appendingPathComponent(relative)
            guard let lines = TextLines.read(path, displayPath: display(path, in: folder), problems: &problems),
                  let entry = FAQFileParser.parse(lines, problems: &problems) else { continue }
            entries.append(entry)
        }
        return entries
    }

    private static func checkEntries(_ source: Source, problems: inout [LoadProblem]) {
        var firstByID: [String: FAQEntry] = [:]
        for entry in source.entries where !entry.id.isEmpty {
            if let earlier = firstByID[entry.id] {
                problems.append(LoadProblem(file: entry.file, line: entry.line, "duplicate id '\(entry.id)', also used in \(earlier.file):\(earlier.line)"))
            } else {
                firstByID[entry.id] = entry
            }
        }
        for entry in source.entries {
            if !entry.topic.isEmpty && source.topics[entry.topic] == nil && entry.topic != KnowledgeBase.outOfScopeTopic {
                problems.append(LoadProblem(file: entry.file, line: entry.keyLines["topic"] ?? entry.line,
                                            "unknown topic '\(entry.topic)'; define it in Intents/topics.txt or use one of its topics"))
            }
            for id in entry.related where firstByID[id] == nil {
                problems.append(LoadProblem(file: entry.file, line: entry.keyLines["related"] ?? entry.line, "related entry '\(id)' does not exist"))
            }
            for answer in entry.answers + entry.englishAnswers + entry.followUps.map({ FAQEntry.Line(text: $0.answer, line: $0.line) }) {
                for key in CompanyProfile.placeholders(in: answer.text) where source.company[key] == nil {
                    problems.append(LoadProblem(file: entry.file, line: answer.line, "unknown placeholder {\(key)}: add it to Intents/company.txt or fix the name"))
                }
            }
        }
    }
}
