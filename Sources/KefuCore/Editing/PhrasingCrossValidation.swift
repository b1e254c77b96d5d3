import Foundation

/// Every FAQ phrasing classified by a knowledge base trained without it: k-fold
/// cross-validation over the phrasings, the fast stand-in for leave-one-out.
///
/// Phrasing `i` of an entry goes to fold `i mod k`, so every fold holds out part of every
/// entry and keeps the rest for training (an entry with fewer than two phrasings loses its
/// class in some folds, which is one more reason `kefu lint` asks for six). Each fold
/// compiles a complete knowledge base (the same keywords, thresholds and emotion lexicon,
/// a classifier trained on the other folds) and reads its held-out phrasings the way the
/// bot reads a message: keywords applied, routed. Folds run in parallel; training is
/// seeded, so results are the same on every run.
///
/// - Complexity: k trainings of the classifier; on the shipped knowledge base, five folds
///   take about as long as compiling it twice and a half on two cores.
public struct PhrasingCrossValidation: Sendable {
    /// One phrasing and what a knowledge base that never saw it made of it.
    public struct Prediction: Sendable {
        public let entryID: String
        public let topic: String
        public let file: String
        public let line: Int
        public let text: String
        /// The top entry after keywords, whatever the route (nil when no entry is known at all).
        public let predictedEntry: String?
        /// The top entry's topic, `out_of_scope` when the bot would fall back.
        public let predictedTopic: String
        public let route: Route
        public let confidence: Float
        public let rule: String

        /// Reached its entry and the bot would answer it: a fallback is a miss for the entry
        /// as for the topic, so no topic can show fewer topic hits than entry hits.
        public var entryCorrect: Bool { predictedEntry == entryID && topicCorrect }
        public var topicCorrect: Bool { predictedTopic == topic }
    }

    /// Accuracy of the held-out phrasings of one topic.
    public struct TopicAccuracy: Sendable {
        public let topic: String
        public let phrasings: Int
        public let entryCorrect: Int
        public let topicCorrect: Int
        public var entryAccuracy: Double { phrasings == 0 ? 0 : Double(entryCorrect) / Double(phrasings) }
        public var topicAccuracy: Double { phrasings == 0 ? 0 : Double(topicCorrect) / Double(phrasings) }
    }

    public let folds: Int
    public let predictions: [Prediction]
    public let seconds: Double

    public var entryAccuracy: Double {
        predictions.isEmpty ? 0 : Double(predictions.filter(\.entryCorrect).count) / Double(predictions.count)
    }
    public var topicAccuracy: Double {
        predictions.isEmpty ? 0 : Double(predictions.filter(\.topicCorrect).count) / Double(predictions.count)
    }

    /// Per topic, in topic order (sorted by id).
    public var byTopic: [TopicAccuracy] {
        Dictionary(grouping: predictions, by: \.topic).map { topic, list in
            TopicAccuracy(topic: topic, phrasings: list.count, entryCorrect: list.filter(\.entryCorrect).count,
                          topicCorrect: list.filter(\.topicCorrect).count)
        }.sorted { $0.topic < $1.topic }
    }

    /// Cross-validates the active (non-draft) entries of `source`. Entries with an empty or
    /// repeated id are left out: their label would be ambiguous.
    public static func run(_ source: KnowledgeLoader.Source, folder: String = "", folds: Int = 5,
                           features: FeatureSettings = .knowledgeBase,
                           training: TrainingSettings = TrainingSettings()) -> PhrasingCrossValidation {
        let start = Measure.now()
        let entries = usableEntries(source)
        let k = max(2, folds)
        let normalizer = TextNormalizer(synonyms: source.synonyms)
        let compiled = compile(entries, normalizer: normalizer)
        let emotion = EmotionDetector(lexicon: source.lexicon)
        let index = Dictionary(entries.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })

        let box = ResultBox(count: k)
        DispatchQueue.concurrentPerform(iterations: k) { fold in
            var train: [LabelledText] = []
            var held: [(entry: FAQEntry, question: FAQEntry.Line)] = []
            for entry in entries {
                for (i, q) in entry.questions.enumerated() {
                    if i % k == fold { held.append((entry, q)) } else { train.append(LabelledText(text: q.text, label: entry.id)) }
                }
            }
            guard !held.isEmpty else { return }
            var result: [Prediction] = []
            if train.isEmpty {
                for (entry, q) in held {
                    result.append(Prediction(entryID: entry.id, topic: entry.topic, file: entry.file, line: q.line, text: q.text,
                                             predictedEntry: nil, predictedTopic: KnowledgeBase.outOfScopeTopic, route: .fallback,
                                             confidence: 0, rule: "nothing left to train on"))
                }
                box.set(fold, result)
                return
            }
            let classifier = IntentClassifier.train(train, normalizer: normalizer, features: features, training: training)
            let kb = KnowledgeBase(folder: folder, entries: compiled, entryIndex: index, topics: source.topics,
                                   topicOrder: source.topicOrder, company: source.company, phrases: source.phrases,
                                   thresholds: source.thresholds, classifier: classifier, emotion: emotion, warnings: [],
                                   compileSeconds: 0)
            for (entry, q) in held {
                let u = kb.understand(q.text)
                let decision = kb.route(u)
                let topic = decision.route == .fallback ? KnowledgeBase.outOfScopeTopic : u.topic
                result.append(Prediction(entryID: entry.id, topic: entry.topic, file: entry.file, line: q.line, text: q.text,
                                         predictedEntry: u.top?.entryID, predictedTopic: topic, route: decision.route,
                                         confidence: u.top?.probability ?? 0, rule: decision.rule))
            }
            box.set(fold, result)
        }
        let predictions = box.all().sorted { ($0.file, $0.line) < ($1.file, $1.line) }
        return PhrasingCrossValidation(folds: k, predictions: predictions, seconds: Double(Measure.now() - start) / 1e9)
    }

    /// Active entries with a usable, unique id, in file order.
    static func usableEntries(_ source: KnowledgeLoader.Source) -> [FAQEntry] {
        var seen = Set<String>()
        var result: [FAQEntry] = []
        for entry in source.entries where !entry.isDraft && !entry.id.isEmpty && !entry.questions.isEmpty {
            if seen.insert(entry.id).inserted { result.append(entry) }
        }
        return result
    }

    static func compile(_ entries: [FAQEntry], normalizer: TextNormalizer) -> [CompiledEntry] {
        entries.map { entry in
            let k = { (list: [FAQEntry.Keyword]) in list.map { KeywordMatcher.keyword($0.word, weight: $0.weight, normalizer: normalizer) } }
            return CompiledEntry(entry: entry, boost: k(entry.boost), require: k(entry.require), exclude: k(entry.exclude))
        }
    }

    /// Collects the folds' results from the worker threads.
    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [[Prediction]]
        init(count: Int) { results = Array(repeating: [], count: count) }
        func set(_ fold: Int, _ list: [Prediction]) {
            lock.lock()
            results[fold] = list
            lock.unlock()
        }
        func all() -> [Prediction] {
            lock.lock()
            defer { lock.unlock() }
            return results.flatMap { $0 }
        }
    }
}
