import Foundation

/// A candidate FAQ entry drafted from a policy document, for an editor to check.
public struct DraftEntry: Sendable, Equatable {
    public let id: String
    /// The section heading or numbered point it came from, cleaned.
    public let heading: String
    /// Line in the document where the heading stands.
    public let line: Int
    public let question: String
    public let phrasings: [String]
    /// 1–2 of the section's most informative sentences, at most 160 characters.
    public let answer: String
    /// The shipped classifier's top topic for the heading and text, and its probability.
    public let topic: String
    public let topicConfidence: Double
    /// Characters of text the section had (the answer is a summary of it).
    public let sourceLength: Int
}

/// Drafts FAQ entries from a plain-text or Markdown policy document.
///
/// Sections (Markdown headings, 「一、」「（一）」「第一章」 numbering, `1.` numbering, short
/// title lines) and numbered or bulleted points written as `title：text` become candidate
/// entries. Web-page noise (copyright notices, download prompts, page counters, lists of
/// other documents) is dropped; traditional characters are simplified and ASCII
/// punctuation inside Chinese text becomes full-width, the knowledge base's house style.
///
/// The answer is extractive: the section's sentences are scored by how informative their
/// character bigrams are in this document (IDF over the document's sentences) plus their
/// overlap with the heading, and the best one or two are kept in document order, cut at
/// a clause boundary to at most 160 characters. A section is never copied whole.
public enum DocumentImporter {
    public static let maximumAnswerLength = 160

    /// A heading with the text under it.
    public struct Section: Sendable, Equatable {
        public let heading: String
        public let line: Int
        public let level: Int
        public var body: [String]
        public var text: String { body.joined(separator: "\n") }
    }

    // MARK: - Drafting

    /// Drafts entries for `text`; `name` (the file name) gives the ids their prefix. Ids in
    /// `takenIDs` are avoided. With `kb`, each draft gets the classifier's topic; without,
    /// `business_policy`.
    public static func drafts(text: String, name: String, kb: KnowledgeBase?, takenIDs: Set<String> = [], maximum: Int = 40) -> [DraftEntry] {
        let sections = self.sections(text)
        let stats = SentenceStats(sections.flatMap { sentences($0.text) } + sections.map(\.heading))
        let prefix = idPrefix(name)
        var drafts: [DraftEntry] = []
        var taken = takenIDs
        var number = 0
        for section in sections where isCandidate(section) {
            guard drafts.count < maximum else { break }
            let answer = summary(section.text, heading: section.heading, stats: stats)
            guard answer.count >= 12, let end = answer.last, !"？?".contains(end) else { continue }
            number += 1
            var id = "\(prefix)_\(String(format: "%02d", number))"
            while taken.contains(id) { number += 1; id = "\(prefix)_\(String(format: "%02d", number))" }
            taken.insert(id)
            let subject = subjectOf(section.heading)
            var topic = "business_policy", confidence = 0.0
            if let kb {
                (topic, confidence) = suggestTopic(section.heading + "。" + String(section.text.prefix(200)), kb: kb)
            }
            drafts.append(DraftEntry(id: id, heading: section.heading, line: section.line, question: question(section.heading, subject: subject),
                                     phrasings: phrasings(subject), answer: answer, topic: topic, topicConfidence: confidence,
                                     sourceLength: section.text.count))
        }
        return drafts
    }

    /// The file an editor reviews: front matter with `draft: true`, questions, the answer.
    public static func render(_ d: DraftEntry, source: String) -> String {
        var text = "---\n"
        text += "# Drafted by `kefu import` from \(source), line \(d.line): 「\(d.heading)」\n"
        text += "# Check the question, the phrasings (write them the way customers ask), the answer and the\n"
        text += "# topic; then remove `draft: true` so the bot uses the entry. `kefu lint` checks it.\n"
        text += "id: \(d.id)\n"
        text += "topic: \(d.topic)  # suggested by the classifier (\(String(format: "%.2f", d.topicConfidence)))\n"
        text += "draft: true\n"
        text += "---\n## Questions\n"
        for q in [d.question] + d.phrasings { text += "- \(q)\n" }
        text += "\n## Answers\n\(d.answer)\n"
        return text
    }

    static func isCandidate(_ s: Section) -> Bool {
        let h = s.heading
        guard h.count >= 2, h.count <= 40, !genericHeadings.contains(h) else { return false }
        guard h.unicodeScalars.contains(where: { CharacterClass.of($0.value) == .ideograph }) else { return false }
        return s.text.count >= 25
    }

    /// Headings that name a part of the document rather than a matter a customer asks about.
    static let genericHeadings: Set<String> = ["引言", "前言", "概述", "总结", "结语", "结论", "目录", "摘要", "参考文献", "附录",
                                               "总结与展望", "背景", "背景介绍", "目的和意义", "文档简介", "温馨提示", "正文"]

    static func idPrefix(_ name: String) -> String {
        let base = ((name as NSString).lastPathComponent as NSString).deletingPathExtension.lowercased()
        var slug = ""
        for s in base.unicodeScalars {
            if ("a"..."z").contains(s) || ("0"..."9").contains(s) { slug.unicodeScalars.append(s) }
            else if !slug.hasSuffix("_") && !slug.isEmpty { slug += "_" }
        }
        slug = String(slug.prefix(16))
        while slug.hasSuffix("_") { slug.removeLast() }
        if slug.count < 3 {
            var h: UInt32 = 2166136261
            for b in base.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
            slug = "doc" + String(h % 0xFFFFFF, radix: 16)
        }
        return "draft_" + slug
    }

    /// The heading without a trailing question or colon: what the phrasings ask about.
    /// A long heading is cut at its first clause when that clause says enough.
    static func subjectOf(_ heading: String) -> String {
        var h = heading
        // 「诊断与梳理：精准定位流程痛点」: the subject is before the subtitle.
        if let colon = h.firstIndex(where: { $0 == "：" || $0 == ":" }), h.distance(from: h.startIndex, to: colon) >= 2 {
            h = String(h[..<colon])
        }
        while let last = h.last, "？?：:。！!".contains(last) { h.removeLast() }
        for suffix in ["是什么", "吗", "么"] where h.hasSuffix(suffix) && h.count > suffix.count + 2 { h.removeLast(suffix.count) }
        if h.count > 18, let cut = h.firstIndex(where: { "，、：；".contains($0) }), h.distance(from: h.startIndex, to: cut) >= 4 {
            h = String(h[..<cut])
        }
        return h
    }

    static func question(_ heading: String, subject: String) -> String {
        if let last = heading.last, "？?".contains(last) { return String(heading.dropLast()) + "？" }
        if heading.hasSuffix("吗") { return heading + "？" }
        return "\(subject)具体是怎样的？"
    }

    static func phrasings(_ x: String) -> [String] {
        ["\(x)是什么", "\(x)怎么办理", "请问\(x)", "\(x)有什么规定", "我想了解一下\(x)", "\(x)需要注意什么"]
    }

    static func suggestTopic(_ text: String, kb: KnowledgeBase) -> (String, Double) {
        let u = kb.understand(text)
        var mass: [String: Double] = [:]
        for c in u.candidates { mass[c.topic, default: 0] += Double(c.probability) }
        let best = mass.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.first
        return (best?.key ?? KnowledgeBase.outOfScopeTopic, ((best?.value ?? 0) * 100).rounded() / 100)
    }

    // MARK: - Summary

    /// Sentences of a section's text: split at 。！？； and line ends, bullets removed.
    static func sentences(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        func flush() {
            var s = current.trimmingCharacters(in: .whitespaces)
            while let first = s.first, "-*•·●▪".contains(first) { s = String(s.dropFirst()).trimmingCharacters(in: .whitespaces) }
            if s.count >= 6 { result.append(s) }
            current = ""
        }
        for c in text {
            if c == "\n" { flush(); continue }
            current.append(c)
            if "。！？；!?;".contains(c) { flush() }
        }
        flush()
        return result
    }

    /// Document frequencies of character bigrams over the document's sentences.
    struct SentenceStats {
        let count: Double
        let frequency: [UInt64: Int]
        init(_ sentences: [String]) {
            var f: [UInt64: Int] = [:]
            for s in sentences { for g in DocumentImporter.bigrams(s) { f[g, default: 0] += 1 } }
            frequency = f
            count = Double(max(1, sentences.count))
        }
        func idf(_ g: UInt64) -> Double { log((count + 1) / Double((frequency[g] ?? 0) + 1)) + 1 }
    }

    static func bigrams(_ s: String) -> Set<UInt64> {
        let v = s.unicodeScalars.map(\.value).filter { CharacterClass.of($0) != .separator }
        var result = Set<UInt64>()
        if v.count >= 2 { for i in 0..<(v.count - 1) { result.insert(UInt64(v[i]) << 32 | UInt64(v[i + 1])) } }
        return result
    }

    static func summary(_ body: String, heading: String, stats: SentenceStats) -> String {
        let all = sentences(body)
        guard !all.isEmpty else { return "" }
        let headingGrams = bigrams(heading)
        func score(_ i: Int) -> Double {
            let s = all[i]
            let g = bigrams(s)
            guard !g.isEmpty else { return 0 }
            var value = g.reduce(0.0) { $0 + stats.idf($1) } / Double(g.count).squareRoot()
            value += 1.5 * Double(g.intersection(headingGrams).count)
            if i == 0 { value += 0.5 }
            // A question or a lead-in to a list is no answer.
            if let last = s.last, "？?：:".contains(last) { value *= 0.3 }
            if s.count < 10 { value *= 0.5 }
            // A table of contents or a list of figures, not prose.
            if s.filter(\.isNumber).count * 10 > s.count { value *= 0.1 }
            return value
        }
        let ranked = all.indices.sorted { score($0) != score($1) ? score($0) > score($1) : $0 < $1 }
        var chosen = [ranked[0]]
        if all.count > 2, ranked.count > 1, all[ranked[0]].count + all[ranked[1]].count <= maximumAnswerLength {
            chosen.append(ranked[1])
        }
        var text: String
        if all.count == 1 {
            // One sentence: drop its last clause (usually a purpose or an aside) when what
            // remains still says most of it, rather than copy the section.
            text = withoutLastClause(all[0])
            if text.count > maximumAnswerLength { text = clauses(text, limit: maximumAnswerLength - 1) }
        } else {
            text = chosen.sorted().map { all[$0] }.joined()
            if text.count > maximumAnswerLength { text = clauses(all[ranked[0]], limit: maximumAnswerLength - 1) }
        }
        return finish(text)
    }

    /// The sentence without its last clause (after the last ，；), when at least half remains.
    static func withoutLastClause(_ s: String) -> String {
        var body = s
        while let last = body.last, "。！？；!?;".contains(last) { body.removeLast() }
        guard let cut = body.lastIndex(where: { "，；,;".contains($0) }) else { return s }
        let kept = String(body[..<cut])
        return kept.count * 2 >= body.count ? kept : s
    }

    /// The sentence cut after the last clause (，；) that fits in `limit` characters.
    static func clauses(_ s: String, limit: Int) -> String {
        guard s.count > limit else { return s }
        let prefix = String(s.prefix(limit))
        if let cut = prefix.lastIndex(where: { "，；,;".contains($0) }), prefix.distance(from: prefix.startIndex, to: cut) >= 8 {
            return String(prefix[..<cut])
        }
        return String(prefix.dropLast()) + "…"
    }

    /// Ends the answer with a full stop and keeps it one line without `{` or a leading `#`.
    static func finish(_ text: String) -> String {
        var t = text.replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "{", with: "（").replacingOccurrences(of: "}", with: "）")
        t = t.trimmingCharacters(in: .whitespaces)
        while let first = t.first, "#-*•".contains(first) { t = String(t.dropFirst()).trimmingCharacters(in: .whitespaces) }
        while let last = t.last, "，、；：,;:".contains(last) { t.removeLast() }
        if let last = t.last, !"。！？…”」）".contains(last) { t += "。" }
        return t
    }

    // MARK: - Sections

    /// The document as sections: noise dropped, long run-on lines split at inline numbering,
    /// headings found, the text under each heading collected.
    public static func sections(_ document: String) -> [Section] {
        var sections: [Section] = []
        var current: Section?
        var skippingList = false
        for (number, raw) in document.components(separatedBy: "\n").enumerated() {
            let cleaned = clean(raw)
            if cleaned.isEmpty { skippingList = false; continue }
            if isNoise(cleaned) {
                skippingList = noiseListHeaders.contains(where: { cleaned.hasPrefix($0) })
                continue
            }
            if skippingList, let first = cleaned.first, "-*•·●".contains(first) { continue }
            skippingList = false
            for segment in splitRunOn(cleaned) {
                if let (level, title, inline) = heading(segment) {
                    if let inline {
                        // `title：text`: a point of its own; the text after it still belongs to the enclosing section.
                        sections.append(Section(heading: title, line: number + 1, level: level, body: [inline]))
                        if level >= 3 || current?.level ?? 0 < level {
                            current?.body.append(title + "：" + inline)
                            continue
                        }
                        // A numbered heading `二、title：text` opens a new section with its text.
                        sections.removeLast()
                        if let c = current { sections.append(c) }
                        current = Section(heading: title, line: number + 1, level: level, body: [inline])
                        continue
                    }
                    if let c = current { sections.append(c) }
                    current = Section(heading: title, line: number + 1, level: level, body: [])
                } else if segment.count <= 20, !segment.contains(where: { "。，！？；：:,;!?".contains($0) }),
                          let first = segment.first, !"-*•·●▪".contains(first) {
                    // A short line on its own, without punctuation: a plain-text title.
                    if let c = current { sections.append(c) }
                    current = Section(heading: stripEmphasis(segment), line: number + 1, level: 0, body: [])
                } else if current != nil {
                    current!.body.append(segment)
                }
            }
        }
        if let c = current { sections.append(c) }
        // Document order: points were appended as they came, sections when they closed.
        return sections.sorted { $0.line != $1.line ? $0.line < $1.line : $0.level < $1.level }
    }

    /// Simplified, trimmed, ASCII punctuation inside Chinese text made full-width.
    static func clean(_ raw: String) -> String {
        let simplified = ScriptMix.simplified(raw).trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\u{3000}\r\u{FEFF}")))
        let chars = Array(simplified)
        var out = ""
        let map: [Character: Character] = [",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"]
        func isHan(_ c: Character?) -> Bool { c?.unicodeScalars.first.map { CharacterClass.of($0.value) == .ideograph } ?? false }
        for (i, c) in chars.enumerated() {
            if let wide = map[c], isHan(i > 0 ? chars[i - 1] : nil) || isHan(i + 1 < chars.count ? chars[i + 1] : nil) {
                out.append(wide)
            } else {
                out.append(c)
            }
        }
        out = withoutPinyin(out)
        // A full-width opening parenthesis closes full-width too: 「指标（KPIs)」 → 「指标（KPIs）」.
        var depth = 0
        var paired = ""
        for c in out {
            if c == "（" { depth += 1 } else if c == "）" { depth = max(0, depth - 1) }
            if c == ")" && depth > 0 { depth -= 1; paired.append("）") } else { paired.append(c) }
        }
        return paired.replacingOccurrences(of: "\u{FFFD}", with: "")
    }

    /// Without pinyin glosses some sites insert after characters: 「持续（xù）改进」 → 「持续改进」.
    static func withoutPinyin(_ s: String) -> String {
        let chars = Array(s)
        var out = ""
        var i = 0
        while i < chars.count {
            if chars[i] == "（" || chars[i] == "(" {
                var j = i + 1
                while j < chars.count, j - i <= 8, chars[j].isLetter, chars[j].unicodeScalars.allSatisfy({ $0.value < 0x250 }), chars[j].isLowercase { j += 1 }
                if j > i + 1, j < chars.count, chars[j] == "）" || chars[j] == ")" {
                    i = j + 1
                    continue
                }
            }
            out.append(chars[i])
            i += 1
        }
        return out
    }

    /// Lines from document sites, not from the document: copyright, download, VIP, comments.
    static let noiseMarkers = ["本站", "版权说明", "版权所有", "原创力", "人人文库", "VIP", "vip", "下载本文档", "免费阅读", "已阅读",
                               "提交评论", "文档评论", "侵权", "付费", "举报", "发布时间", "首页", "上一篇", "下一篇", "扫码", "点击查看",
                               "相关文档", "猜你喜欢", "文档简介", "温馨提示", "最新文档", "0/150", "http://", "https://", "www."]
    /// Noise lines that head a list of unrelated items (other documents on the site).
    static let noiseListHeaders = ["最新文档", "相关文档", "猜你喜欢", "温馨提示"]

    static func isNoise(_ line: String) -> Bool {
        if noiseMarkers.contains(where: { line.contains($0) }) { return true }
        if line == "评论" || line == "下载" { return true }
        // Page counters: 《…》课件_第3页, 第1页
        if line.contains("_第"), line.hasSuffix("页") { return true }
        let meaningful = line.unicodeScalars.filter { CharacterClass.of($0.value) != .separator }.count
        return meaningful < 2
    }

    static let chineseNumerals: Set<Character> = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "百", "零", "两"]

    /// Level, title and (for `title：text` points) the text of a heading line; nil for body text.
    static func heading(_ line: String) -> (Int, String, String?)? {
        var s = Substring(line)
        // Markdown heading.
        if s.hasPrefix("#") {
            let level = s.prefix(while: { $0 == "#" }).count
            var title = stripEmphasis(s.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces))
            // 「## 一、退款时效」: the numbering is not part of the title.
            if let (_, numbered, inline) = heading(title), !numbered.hasPrefix("#") { title = inline.map { numbered + "：" + $0 } ?? numbered }
            return title.isEmpty ? nil : (level, title, nil)
        }
        var level: Int?
        if let first = s.first, chineseNumerals.contains(first) {
            let digits = s.prefix(while: { chineseNumerals.contains($0) })
            let rest = s.dropFirst(digits.count)
            if let mark = rest.first, "、．.".contains(mark) { level = 1; s = rest.dropFirst() }
        } else if let first = s.first, "（(".contains(first) {
            let inner = s.dropFirst().prefix(while: { chineseNumerals.contains($0) || $0.isNumber })
            let rest = s.dropFirst(1 + inner.count)
            if !inner.isEmpty, let close = rest.first, "）)".contains(close) { level = 2; s = rest.dropFirst() }
        } else if s.hasPrefix("第") {
            let inner = s.dropFirst().prefix(while: { chineseNumerals.contains($0) || $0.isNumber })
            let rest = s.dropFirst(1 + inner.count)
            if !inner.isEmpty, let unit = rest.first, "章节部分篇条".contains(unit) { level = 1; s = rest.dropFirst() }
        } else if let first = s.first, first.isASCII, first.isNumber {
            let digits = s.prefix(while: { $0.isASCII && $0.isNumber })
            let rest = s.dropFirst(digits.count)
            if digits.count <= 2, let mark = rest.first, "、．.".contains(mark), let next = rest.dropFirst().first, !next.isNumber {
                level = 3; s = rest.dropFirst()
            }
        } else if let first = s.first, "-*•·●▪".contains(first) {
            // A bullet is a point only when written `title：text`.
            let body = s.dropFirst().trimmingCharacters(in: .whitespaces)
            if let (title, text) = titled(body) { return (4, title, text) }
            return nil
        }
        guard let level else { return nil }
        let title = s.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "　")))
        guard !title.isEmpty else { return nil }
        if let (t, text) = titled(title) {
            // 「一、流程优化：从被动响应到主动增值」: a subtitle, not text.
            if text.count < 25, !text.contains(where: { "。！？；".contains($0) }) { return (level, stripEmphasis(title), nil) }
            return (level, t, text)
        }
        // A long numbered line is a paragraph that happens to be numbered, unless its first
        // clause reads as a title.
        if title.count > 30 {
            if let cut = title.firstIndex(where: { "。！？".contains($0) }), title.distance(from: title.startIndex, to: cut) <= 24 {
                let rest = String(title[title.index(after: cut)...]).trimmingCharacters(in: .whitespaces)
                return (level, String(title[..<cut]), rest.isEmpty ? nil : rest)
            }
            return nil
        }
        return (level, stripEmphasis(title), nil)
    }

    /// `title：text` with a short title.
    static func titled(_ s: String) -> (String, String)? {
        guard let colon = s.firstIndex(where: { $0 == "：" || $0 == ":" }) else { return nil }
        let title = stripEmphasis(String(s[..<colon]).trimmingCharacters(in: .whitespaces))
        let text = String(s[s.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        guard title.count >= 2, title.count <= 20, !title.contains(where: { "。，！？".contains($0) }), text.count >= 8 else { return nil }
        return (title, text)
    }

    static func stripEmphasis(_ s: String) -> String {
        s.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "__", with: "").trimmingCharacters(in: .whitespaces)
    }

    /// A run-on line (a whole page pasted as one line) split before inline 「二、」「（三）」 numbering.
    static func splitRunOn(_ line: String) -> [String] {
        guard line.count > 300 else { return [line] }
        let chars = Array(line)
        var cuts: [Int] = []
        var i = 1
        while i < chars.count - 1 {
            let previous = chars[i - 1]
            if chineseNumerals.contains(chars[i]), !chineseNumerals.contains(previous), "。！？；）”".contains(previous) || previous.isNumber {
                var j = i
                while j < chars.count && chineseNumerals.contains(chars[j]) { j += 1 }
                if j < chars.count && chars[j] == "、" && j - i <= 2 { cuts.append(i) }
            } else if chars[i] == "（" || chars[i] == "(" , "。！？；”".contains(previous) {
                var j = i + 1
                while j < chars.count && chineseNumerals.contains(chars[j]) { j += 1 }
                if j > i + 1 && j < chars.count && "）)".contains(chars[j]) { cuts.append(i) }
            }
            i += 1
        }
        guard !cuts.isEmpty else { return [line] }
        var parts: [String] = []
        var start = 0
        for cut in cuts + [chars.count] {
            let part = String(chars[start..<cut]).trimmingCharacters(in: .whitespaces)
            if !part.isEmpty { parts.append(part) }
            start = cut
        }
        return parts
    }
}
