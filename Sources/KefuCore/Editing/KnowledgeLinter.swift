import Foundation

/// The numbers the lint rules judge by.
public struct LintSettings: Sendable {
    /// Folds of the phrasing cross-validation behind `shadowed` and `confusable`.
    public var folds = 5
    /// `shadowed`: at least this share of an entry's phrasings go to other entries.
    public var shadowedShare = 0.5
    /// `confusable`: at least this share of one entry's phrasings go to one other entry…
    public var confusionRate = 0.3
    /// …and at least this many of them.
    public var confusionMinimum = 2
    /// `few_phrasings`: fewer than this many phrasings.
    public var minimumPhrasings = 6
    /// `long_answer`: more characters than this once placeholders are filled.
    public var maximumAnswerLength = 200
    /// Whether to run the cross-validation at all (the slow part).
    public var crossValidate = true
    public init() {}
}

/// What `kefu lint` found in one knowledge base folder.
public struct LintReport: Sendable {
    public let findings: [LintFinding]
    /// Active (non-draft) entries checked.
    public let entryCount: Int
    public let draftCount: Int
    public let crossValidation: PhrasingCrossValidation?

    public var errors: [LintFinding] { findings.filter { $0.severity == .error } }
    public var warnings: [LintFinding] { findings.filter { $0.severity == .warning } }
}

/// Checks a knowledge base folder the way an editor needs: every problem in every file,
/// each as `file:line: severity: message [rule]`, errors (the bot would refuse the files)
/// apart from warnings (the bot runs, but customers get worse answers).
///
/// Works on the files as read (`KnowledgeLoader.readSource`), so it reports content
/// problems even when the loader's errors would stop a compile.
public enum KnowledgeLinter {
    public static func lint(folder: String, settings: LintSettings = LintSettings()) -> LintReport {
        var problems: [LoadProblem] = []
        let source = KnowledgeLoader.readSource(folder, problems: &problems)
        var findings = problems.map(finding(from:))
        guard let source else {
            return LintReport(findings: findings.sorted(), entryCount: 0, draftCount: 0, crossValidation: nil)
        }
        let active = source.entries.filter { !$0.isDraft }
        let normalizer = TextNormalizer(synonyms: source.synonyms)
        findings += idFileNames(active)
        findings += duplicatePhrasings(active, normalizer: normalizer)
        findings += fewPhrasings(active, minimum: settings.minimumPhrasings)
        findings += keywordConflicts(active, normalizer: normalizer)
        findings += emptyTopics(source, active: active, folder: folder)
        findings += answers(active, company: source.company, maximumLength: settings.maximumAnswerLength)
        var validation: PhrasingCrossValidation?
        if settings.crossValidate, Set(PhrasingCrossValidation.usableEntries(source).map(\.id)).count >= 2 {
            let cv = PhrasingCrossValidation.run(source, folder: folder, folds: settings.folds)
            findings += confusion(cv, entries: active, settings: settings)
            validation = cv
        }
        return LintReport(findings: findings.sorted(), entryCount: active.count,
                          draftCount: source.entries.count - active.count, crossValidation: validation)
    }

    /// A loader problem, with the rule it belongs to.
    static func finding(from p: LoadProblem) -> LintFinding {
        let rule: LintRule
        if p.message.hasPrefix("duplicate id") { rule = .duplicateID }
        else if p.message.hasPrefix("unknown placeholder") { rule = .unknownPlaceholder }
        else { rule = .load }
        return LintFinding(file: p.file, line: p.line, severity: p.severity, rule: rule, p.message)
    }

    // MARK: - Ids and phrasings

    static func idFileNames(_ entries: [FAQEntry]) -> [LintFinding] {
        entries.compactMap { e in
            let base = ((e.file as NSString).lastPathComponent as NSString).deletingPathExtension
            guard !e.id.isEmpty, base != e.id else { return nil }
            return LintFinding(file: e.file, line: e.line, severity: .warning, rule: .idFileName,
                               "id '\(e.id)' differs from the file name '\(base).md'; rename the file to \(e.id).md so editors find it")
        }
    }

    /// The form two phrasings are compared in: normalised (width, case, script, punctuation,
    /// synonyms) with the spaces removed.
    static func phrasingKey(_ text: String, normalizer: TextNormalizer) -> String {
        String(decoding: normalizer.normalize(text).scalars.filter { $0 != 0x20 })
    }

    /// Across entries phrasings are compared after synonyms too (the classifier sees them so);
    /// within one entry only without synonyms, since writing 「拜拜」 next to 「再见」 documents
    /// what customers type and does no harm.
    static func duplicatePhrasings(_ entries: [FAQEntry], normalizer: TextNormalizer) -> [LintFinding] {
        var findings: [LintFinding] = []
        var first: [String: (entry: FAQEntry, line: Int)] = [:]
        let plain = TextNormalizer()
        for entry in entries {
            var own: [String: Int] = [:]
            for q in entry.questions {
                let plainKey = phrasingKey(q.text, normalizer: plain)
                if let line = own[plainKey] {
                    findings.append(LintFinding(file: entry.file, line: q.line, severity: .warning, rule: .duplicatePhrasing,
                                                "the phrasing '\(q.text)' repeats line \(line) of this entry (after normalisation); remove one"))
                    continue
                }
                own[plainKey] = q.line
                let key = phrasingKey(q.text, normalizer: normalizer)
                guard !key.isEmpty else { continue }
                guard let (earlier, line) = first[key] else {
                    first[key] = (entry, q.line)
                    continue
                }
                if earlier.file != entry.file {
                    findings.append(LintFinding(file: entry.file, line: q.line, severity: .error, rule: .duplicatePhrasing,
                                                "the phrasing '\(q.text)' is also a phrasing of '\(earlier.id)' (\(earlier.file):\(line)) after normalisation; one phrasing can teach only one entry, keep it in one of them"))
                }
            }
        }
        return findings
    }

    static func fewPhrasings(_ entries: [FAQEntry], minimum: Int) -> [LintFinding] {
        entries.compactMap { e in
            guard !e.questions.isEmpty, e.questions.count < minimum else { return nil }
            return LintFinding(file: e.file, line: e.line, severity: .warning, rule: .fewPhrasings,
                               "only \(e.questions.count) phrasing\(e.questions.count == 1 ? "" : "s"); write at least \(minimum), the way customers really ask (short, long, colloquial, traditional, English)")
        }
    }

    // MARK: - Keywords

    static func keywordConflicts(_ entries: [FAQEntry], normalizer: TextNormalizer) -> [LintFinding] {
        var findings: [LintFinding] = []
        func key(_ word: String) -> String { String(decoding: normalizer.normalize(word).scalars) }
        func compiled(_ k: FAQEntry.Keyword) -> KeywordMatcher.Keyword { KeywordMatcher.keyword(k.word, weight: k.weight, normalizer: normalizer) }

        // Within one entry: a word both wanted and excluded; phrasings the entry's own keywords block.
        for e in entries {
            let excluded = Dictionary(e.exclude.map { (key($0.word), $0) }, uniquingKeysWith: { a, _ in a })
            for k in e.boost + e.require {
                if let x = excluded[key(k.word)] {
                    let kind = e.boost.contains(k) ? "boosted" : "required"
                    findings.append(LintFinding(file: e.file, line: x.line, severity: .warning, rule: .keywordConflict,
                                                "'\(x.word)' is both \(kind) and excluded in '\(e.id)'; the exclusion wins, so remove one of them"))
                }
            }
            let excludes = e.exclude.map(compiled)
            let requires = e.require.map(compiled)
            for q in e.questions {
                let s = normalizer.normalize(q.text).scalars
                if let x = zip(e.exclude, excludes).first(where: { KeywordMatcher.occurs($0.1, in: s) }) {
                    findings.append(LintFinding(file: e.file, line: q.line, severity: .warning, rule: .keywordConflict,
                                                "this phrasing contains '\(x.0.word)', which '\(e.id)' excludes: a customer who writes it can never get this entry"))
                } else if !requires.isEmpty && !requires.contains(where: { KeywordMatcher.occurs($0, in: s) }) {
                    findings.append(LintFinding(file: e.file, line: q.line, severity: .warning, rule: .keywordConflict,
                                                "this phrasing has none of the words '\(e.id)' requires (\(e.require.map(\.word).joined(separator: ", "))): a customer who writes it can never get this entry"))
                }
            }
        }

        // Across entries of different topics.
        var boosted: [String: [(entry: FAQEntry, keyword: FAQEntry.Keyword)]] = [:]
        for e in entries { for k in e.boost { boosted[key(k.word), default: []].append((e, k)) } }
        for word in boosted.keys.sorted() {
            var list: [(entry: FAQEntry, keyword: FAQEntry.Keyword)] = []
            for item in boosted[word]! where !list.contains(where: { $0.entry.file == item.entry.file }) { list.append(item) }
            guard Set(list.map(\.entry.topic)).count > 1, let first = list.first else { continue }
            let places = list.map { "\($0.entry.id) (\($0.entry.topic), \($0.entry.file):\($0.keyword.line), +\(fmtWeight($0.keyword.weight)))" }
            findings.append(LintFinding(file: first.entry.file, line: first.keyword.line, severity: .warning, rule: .keywordConflict,
                                        "'\(first.keyword.word)' is boosted in entries of different topics: \(places.joined(separator: "; ")); the boosts pull a message both ways, keep the word in one topic or weigh it differently"))
        }
        for e in entries {
            for x in e.exclude {
                for b in boosted[key(x.word)] ?? [] where b.entry.topic != e.topic {
                    findings.append(LintFinding(file: e.file, line: x.line, severity: .warning, rule: .keywordConflict,
                                                "'\(x.word)' is excluded here (topic \(e.topic)) but boosted in '\(b.entry.id)' (topic \(b.entry.topic), \(b.entry.file):\(b.keyword.line)); check that a message with it can never mean '\(e.id)'"))
                }
            }
        }
        return findings
    }

    static func fmtWeight(_ w: Float) -> String {
        w == w.rounded() ? String(Int(w)) : String(format: "%g", Double(w))
    }

    // MARK: - Topics and answers

    static func emptyTopics(_ source: KnowledgeLoader.Source, active: [FAQEntry], folder: String) -> [LintFinding] {
        let covered = Set(active.map(\.topic))
        let path = (folder as NSString).appendingPathComponent("Intents/topics.txt")
        let lines = (try? String(contentsOfFile: path, encoding: .utf8))?.components(separatedBy: "\n") ?? []
        return source.topicOrder.filter { !covered.contains($0) }.map { topic in
            let line = (lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "[\(topic)]" } ?? 0) + 1
            return LintFinding(file: "Intents/topics.txt", line: line, severity: .warning, rule: .emptyTopic,
                               "topic [\(topic)] has no FAQ entry: the bot can never recognise it; add FAQ/\(topic)/<id>.md")
        }
    }

    static func answers(_ entries: [FAQEntry], company: CompanyProfile, maximumLength: Int) -> [LintFinding] {
        var findings: [LintFinding] = []
        for e in entries {
            for a in e.answers {
                let filled = company.fill(a.text)
                if filled.count > maximumLength {
                    findings.append(LintFinding(file: e.file, line: a.line, severity: .warning, rule: .longAnswer,
                                                "the answer is \(filled.count) characters with placeholders filled (more than \(maximumLength), a chat bubble); shorten it or split the entry"))
                }
                let (traditional, simplified) = ScriptMix.scan(placeholdersRemoved(a.text))
                if !traditional.isEmpty && !simplified.isEmpty {
                    findings.append(LintFinding(file: e.file, line: a.line, severity: .warning, rule: .mixedScript,
                                                "the answer mixes traditional (\(String(traditional.prefix(6)))) and simplified (\(String(simplified.prefix(6)))) characters; write it in one script"))
                }
            }
        }
        return findings
    }

    /// The editor's own text: `{key}` placeholders are filled from the company profile,
    /// whose script the answer does not choose.
    static func placeholdersRemoved(_ text: String) -> String {
        var result = "", depth = 0
        for c in text {
            if c == "{" { depth += 1 } else if c == "}" { depth = max(0, depth - 1) } else if depth == 0 { result.append(c) }
        }
        return result
    }

    // MARK: - Cross-validation

    static func confusion(_ cv: PhrasingCrossValidation, entries: [FAQEntry], settings: LintSettings) -> [LintFinding] {
        var byEntry: [String: [PhrasingCrossValidation.Prediction]] = [:]
        for p in cv.predictions { byEntry[p.entryID, default: []].append(p) }
        var entryByID: [String: FAQEntry] = [:]
        for e in entries where entryByID[e.id] == nil { entryByID[e.id] = e }
        var findings: [LintFinding] = []
        var shadowedBy: [String: String] = [:]
        // A phrasing goes to another entry when that entry wins and the bot acts on it (answers,
        // offers it, hands off): a fallback is "not recognised", not "won by another entry".
        // For out-of-scope examples any fallback is right.
        func lostTo(_ p: PhrasingCrossValidation.Prediction) -> String? {
            guard let b = p.predictedEntry, b != p.entryID, p.route != .fallback else { return nil }
            return b
        }
        // counts[a][b]: phrasings of a won by b.
        var counts: [String: [String: Int]] = [:]
        for (id, list) in byEntry {
            for p in list { if let b = lostTo(p) { counts[id, default: [:]][b, default: 0] += 1 } }
        }
        let ids = byEntry.keys.sorted()
        for id in ids {
            guard let e = entryByID[id], let list = byEntry[id] else { continue }
            let wrong = list.filter { lostTo($0) != nil }
            guard !list.isEmpty, Double(wrong.count) / Double(list.count) >= settings.shadowedShare, !wrong.isEmpty else { continue }
            let winner = counts[id]!.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.first!
            shadowedBy[id] = winner.key
            let winnerPlace = entryByID[winner.key].map { " (\($0.file))" } ?? ""
            let lines = wrong.filter { $0.predictedEntry == winner.key }.map { String($0.line) }.joined(separator: ", ")
            findings.append(LintFinding(file: e.file, line: e.line, severity: .warning, rule: .shadowed,
                                        "'\(id)' is shadowed by '\(winner.key)'\(winnerPlace): classified by a knowledge base trained without them, \(wrong.count) of its \(list.count) phrasings are taken by other entries, \(winner.value) by '\(winner.key)' (line\(winner.value == 1 ? "" : "s") \(lines)); make the phrasings more distinct, add keywords, or merge the entries"))
        }
        func rate(_ a: String, _ b: String) -> (count: Int, rate: Double) {
            let n = counts[a]?[b] ?? 0
            return (n, Double(n) / Double(max(1, byEntry[a]?.count ?? 1)))
        }
        var seen = Set<String>()
        for a in ids {
            for b in (counts[a] ?? [:]).keys.sorted() {
                let pairKey = [a, b].sorted().joined(separator: "|")
                guard seen.insert(pairKey).inserted, let ea = entryByID[a], let eb = entryByID[b] else { continue }
                if ea.topic == KnowledgeBase.outOfScopeTopic && eb.topic == KnowledgeBase.outOfScopeTopic { continue }
                let ab = rate(a, b), ba = rate(b, a)
                func eligible(_ from: String, _ to: String, _ r: (count: Int, rate: Double)) -> Bool {
                    r.count >= settings.confusionMinimum && r.rate >= settings.confusionRate && shadowedBy[from] != to
                }
                let okAB = eligible(a, b, ab), okBA = eligible(b, a, ba)
                guard okAB || okBA else { continue }
                let (from, to, r, otherRate) = (okAB && (!okBA || ab.rate >= ba.rate)) ? (ea, eb, ab, ba) : (eb, ea, ba, ab)
                var message = "'\(from.id)' and '\(to.id)' (\(to.file)) are hard to tell apart: \(r.count) of \(byEntry[from.id]!.count) phrasings of '\(from.id)' (\(pct(r.rate))) go to '\(to.id)' in \(cv.folds)-fold cross-validation"
                if otherRate.count > 0 {
                    message += ", and \(otherRate.count) of \(byEntry[to.id]!.count) of '\(to.id)' (\(pct(otherRate.rate))) the other way"
                }
                message += "; make their phrasings differ or merge them"
                findings.append(LintFinding(file: from.file, line: from.line, severity: .warning, rule: .confusable, message))
            }
        }
        return findings
    }

    static func pct(_ v: Double) -> String { "\(Int((v * 100).rounded()))%" }
}
