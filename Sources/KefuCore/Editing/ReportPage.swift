import Foundation

/// `ServiceReport` as one self-contained HTML page: inline CSS, inline SVG charts, no
/// scripts and no external assets, so it can be mailed or opened from disk.
public enum ReportPage {
    public static func html(_ r: ServiceReport, generated: Date = Date()) -> String {
        let m = r.metrics
        let dateFormat = DateFormatter()
        dateFormat.locale = Locale(identifier: "en_US_POSIX")
        dateFormat.timeZone = r.timeZone
        dateFormat.dateFormat = "yyyy-MM-dd HH:mm"
        let period: String = {
            guard let from = r.firstEvent, let to = r.lastEvent else { return "事件日志为空 · no events yet" }
            return "\(dateFormat.string(from: r.since.map { max($0, from) } ?? from)) — \(dateFormat.string(from: to))"
        }()

        var tiles: [String] = []
        tiles.append(tile("会话", "Conversations", "\(m.conversations)", "\(m.messages) 条客户消息", tone: "blue"))
        tiles.append(tile("机器人独立解决", "Containment", percent(m.containmentRate), "未转人工的会话", tone: good(m.containmentRate, 0.7, 0.5)))
        if let fcr = r.firstContactResolution {
            tiles.append(tile("首次解决率", "First-contact resolution", percent(fcr), "\(r.resolvedAtFirstContact) / \(r.needConversations) 个有诉求的会话", tone: good(fcr, 0.6, 0.4)))
        } else {
            tiles.append(tile("首次解决率", "First-contact resolution", "—", "暂无有诉求的会话", tone: "grey"))
        }
        tiles.append(tile("转人工率", "Handoff rate", percent(m.handoffRate), "\(m.handoffReasons.values.reduce(0, +)) 张服务单", tone: good(1 - m.handoffRate, 0.7, 0.5)))
        tiles.append(tile("未能回答", "Fallback rate", percent(m.fallbackRate), "占客户消息", tone: good(1 - m.fallbackRate, 0.9, 0.8)))
        tiles.append(tile("需要澄清", "Clarification rate", percent(m.clarificationRate), "给出选项让客户选", tone: good(1 - m.clarificationRate, 0.9, 0.8)))
        if let average = m.satisfactionAverage {
            tiles.append(tile("满意度", "Satisfaction", String(format: "%.2f", average) + "<small> / 5</small>", "\(m.ratings.values.reduce(0, +)) 个评分", tone: good((average - 1) / 4, 0.75, 0.5)))
        } else {
            tiles.append(tile("满意度", "Satisfaction", "—", "暂无评分", tone: "grey"))
        }
        if let median = m.medianSecondsToClaim, let p90 = m.p90SecondsToClaim {
            tiles.append(tile("接单等待", "Time to claim", duration(median), "中位数 · p90 \(duration(p90))", tone: median <= 300 ? "green" : median <= 900 ? "amber" : "red"))
        } else {
            tiles.append(tile("接单等待", "Time to claim", "—", "暂无接单", tone: "grey"))
        }

        let reasons = m.handoffReasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { (label: ServiceReport.reasonName($0.key), value: $0.value, color: reasonColor($0.key)) }
        let busiest = Set(r.busiestHours.map(\.hour))
        let hours = r.hourly.enumerated().map { (label: String(format: "%02d", $0.offset), value: $0.element, color: busiest.contains($0.offset) ? "#f08c2e" : "#4c7bd9") }
        let ratingColors = ["#d64545", "#ef8a3c", "#e8c23a", "#8cc152", "#3fa45b"]
        let ratings = (1...5).map { (label: "\($0) 分", value: m.ratings[$0] ?? 0, color: ratingColors[$0 - 1]) }
        let topics = r.topTopics.prefix(8).map { (label: r.topicNames[$0.topic] ?? $0.topic, value: $0.count, color: "#5b8def") }

        var body = """
        <header>
          <div class="wrap">
            <h1>客服运营报告 <span>Service report</span></h1>
            <p>\(escape(period)) · 时区 \(escape(r.timeZone.identifier)) · 生成于 \(escape(dateFormat.string(from: generated)))</p>
          </div>
        </header>
        <main class="wrap">
          <section class="tiles">\(tiles.joined())</section>
          <section class="grid">
            <div class="card"><h2>转人工原因 <span>Handoff reasons</span></h2>\(reasons.isEmpty ? empty("暂无转人工") : horizontalBars(reasons))</div>
            <div class="card"><h2>满意度分布 <span>Ratings</span></h2>\(m.ratings.isEmpty ? empty("暂无评分") : columns(ratings, height: 190, labelEvery: 1))</div>
            <div class="card wide"><h2>各时段消息量 <span>Customer messages by hour</span></h2>\(hours.allSatisfy { $0.value == 0 } ? empty("暂无消息") : columns(hours, height: 200, labelEvery: 1, width: 1080))
              <p class="note">\(r.busiestHours.isEmpty ? "" : "最繁忙：" + r.busiestHours.map { String(format: "%02d:00–%02d:00（%d 条）", $0.hour, ($0.hour + 1) % 24, $0.messages) }.joined(separator: "，"))</p></div>
            <div class="card wide"><h2>热门话题 <span>Top topics (answered or clarified messages)</span></h2>\(topics.isEmpty ? empty("暂无") : horizontalBars(Array(topics), width: 1080))</div>
          </section>
          <section class="card">
            <h2>机器人没能回答好的问题 <span>Unanswered or low-confidence messages, clustered — candidates for new phrasings</span></h2>
            <p class="note">共 \(r.unansweredMessages) 条消息（兜底或置信度低于 0.5），归为 \(r.clusters.count) 组；建议话题来自分类器，供编辑参考。</p>
            \(clusterTable(r))
          </section>
          <footer>
            <p><b>定义</b>：机器人独立解决 = 未转人工的会话 / 全部会话；首次解决 = 有诉求的会话中，机器人作答、未转人工、客户未说“没用”、且同一客户 24 小时内未就同一话题再次咨询的比例；
            未能回答 = 兜底回复的消息 / 客户消息；接单等待 = 转人工到客服首次接单的时间。文本已脱敏。</p>
          </footer>
        </main>
        """
        body = "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>客服运营报告</title>\n<style>\(css)</style>\n</head>\n<body>\n" + body + "\n</body>\n</html>\n"
        return body
    }

    // MARK: - Pieces

    static func tile(_ label: String, _ english: String, _ value: String, _ sub: String, tone: String) -> String {
        "<div class=\"tile \(tone)\"><div class=\"label\">\(escape(label)) <span>\(escape(english))</span></div><div class=\"value\">\(value)</div><div class=\"sub\">\(escape(sub))</div></div>"
    }

    static func empty(_ text: String) -> String { "<p class=\"empty\">\(escape(text))</p>" }

    static func good(_ v: Double, _ green: Double, _ amber: Double) -> String { v >= green ? "green" : v >= amber ? "amber" : "red" }

    static func percent(_ v: Double) -> String { String(format: "%.1f", v * 100) + "<small>%</small>" }

    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return "\(Int(seconds.rounded())) 秒" }
        if seconds < 3600 { return "\(Int((seconds / 60).rounded())) 分钟" }
        return String(format: "%.1f 小时", seconds / 3600)
    }

    static func reasonColor(_ code: String) -> String {
        switch code {
        case "safety", "money": "#d64545"
        case "threat", "emotion": "#ef8a3c"
        case "complaint": "#e8b43a"
        default: "#4c7bd9"
        }
    }

    /// One labelled bar per item, longest first as given, the value at the bar's end.
    static func horizontalBars(_ items: [(label: String, value: Int, color: String)], width: Int = 520) -> String {
        let row = 30, valueWidth = 50
        // Room for the longest label (13px text: about 13px per CJK character, 7px per Latin one).
        let longest = items.map { $0.label.unicodeScalars.reduce(0.0) { $0 + ($1.value < 0x2E80 ? 7.2 : 13.5) } }.max() ?? 0
        let labelWidth = min(width / 2, max(110, Int(longest) + 18))
        let height = items.count * row + 6
        let maxValue = max(1, items.map(\.value).max() ?? 1)
        let barSpace = Double(width - labelWidth - valueWidth)
        var svg = "<svg viewBox=\"0 0 \(width) \(height)\" width=\"100%\" role=\"img\">"
        for (i, item) in items.enumerated() {
            let y = i * row + 4
            let w = max(2, barSpace * Double(item.value) / Double(maxValue))
            svg += "<text x=\"\(labelWidth - 10)\" y=\"\(y + 17)\" text-anchor=\"end\" class=\"axis\">\(escape(item.label))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(String(format: "%.1f", w))\" height=\"20\" rx=\"4\" fill=\"\(item.color)\"/>"
            svg += "<text x=\"\(String(format: "%.1f", Double(labelWidth) + w + 8))\" y=\"\(y + 18)\" class=\"val\">\(item.value)</text>"
        }
        return svg + "</svg>"
    }

    /// Vertical bars with a light grid, the value above each non-empty bar.
    static func columns(_ items: [(label: String, value: Int, color: String)], height: Int, labelEvery: Int, width: Int = 520) -> String {
        let top = 22, bottom = 26, left = 34
        let plot = Double(height - top - bottom)
        let maxValue = max(1, items.map(\.value).max() ?? 1)
        let step = niceStep(maxValue)
        let axisMax = Int((Double(maxValue) / Double(step)).rounded(.up)) * step
        let slot = Double(width - left - 6) / Double(items.count)
        let barWidth = min(56, slot * 0.68)
        var svg = "<svg viewBox=\"0 0 \(width) \(height)\" width=\"100%\" role=\"img\">"
        var tick = 0
        while tick <= axisMax {
            let y = Double(top) + plot - plot * Double(tick) / Double(axisMax)
            svg += "<line x1=\"\(left)\" x2=\"\(width - 4)\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"grid\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"tick\">\(tick)</text>"
            tick += step
        }
        for (i, item) in items.enumerated() {
            let h = plot * Double(item.value) / Double(axisMax)
            let x = Double(left) + slot * Double(i) + (slot - barWidth) / 2
            let y = Double(top) + plot - h
            if item.value > 0 {
                svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barWidth))\" height=\"\(f(h))\" rx=\"3\" fill=\"\(item.color)\"/>"
                svg += "<text x=\"\(f(x + barWidth / 2))\" y=\"\(f(y - 5))\" text-anchor=\"middle\" class=\"val\">\(item.value)</text>"
            }
            if i % labelEvery == 0 {
                svg += "<text x=\"\(f(x + barWidth / 2))\" y=\"\(height - 8)\" text-anchor=\"middle\" class=\"axis\">\(escape(item.label))</text>"
            }
        }
        return svg + "</svg>"
    }

    static func niceStep(_ maxValue: Int) -> Int {
        let raw = Double(maxValue) / 4
        let magnitude = pow(10, floor(log10(max(1, raw))))
        for m in [1.0, 2.0, 5.0, 10.0] where raw <= m * magnitude { return max(1, Int(m * magnitude)) }
        return max(1, Int(10 * magnitude))
    }

    static func clusterTable(_ r: ServiceReport) -> String {
        guard !r.clusters.isEmpty else { return empty("没有未能回答的消息") }
        var rows = ""
        for (i, c) in r.clusters.prefix(15).enumerated() {
            let topic = c.suggestedTopic == KnowledgeBase.outOfScopeTopic
                ? "<span class=\"pill oos\">超出范围 out_of_scope</span>"
                : "<span class=\"pill\">\(escape(r.topicNames[c.suggestedTopic] ?? c.suggestedTopic)) · \(escape(c.suggestedTopic))</span>"
            var entry = c.suggestedEntry.map { "<div class=\"entry\">→ \(escape($0)) · \(String(format: "%.0f%%", c.confidence * 100))</div>" } ?? ""
            if c.suggestedEntry == nil, let near = c.nearestTopic, c.nearestConfidence >= 0.1 {
                entry = "<div class=\"entry\">最接近：\(escape(r.topicNames[near] ?? near)) \(String(format: "%.0f%%", c.nearestConfidence * 100))</div>"
            }
            let examples = c.messages.prefix(5).map { m in
                "<span class=\"chip\">\(escape(m.text))\(m.count > 1 ? "<b>×\(m.count)</b>" : "")</span>"
            }.joined()
            rows += "<tr><td class=\"num\">\(i + 1)</td><td class=\"num\"><b>\(c.size)</b></td><td>\(topic)\(entry)</td><td>\(examples)</td></tr>"
        }
        let more = r.clusters.count > 15 ? "<p class=\"note\">另有 \(r.clusters.count - 15) 组见 <code>kefu report --json</code>。</p>" : ""
        return "<table><thead><tr><th>#</th><th>条数</th><th>建议话题</th><th>客户原话（示例）</th></tr></thead><tbody>\(rows)</tbody></table>\(more)"
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static let css = """
    *{box-sizing:border-box}
    body{margin:0;background:#f3f5f9;color:#1f2a3d;font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei","Source Han Sans SC",system-ui,sans-serif;font-size:14px;line-height:1.5}
    .wrap{max-width:1180px;margin:0 auto;padding:0 24px}
    header{background:linear-gradient(120deg,#1d3b72,#2f5fb3);color:#fff;padding:26px 0 64px}
    header h1{margin:0;font-size:26px;font-weight:700;letter-spacing:1px}
    header h1 span{font-size:15px;font-weight:400;opacity:.75;margin-left:8px}
    header p{margin:6px 0 0;opacity:.85}
    main{margin-top:-44px;padding-bottom:32px}
    .tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin-bottom:16px}
    .tile{background:#fff;border-radius:12px;padding:14px 16px 12px;box-shadow:0 2px 8px rgba(20,40,80,.08);border-top:4px solid #4c7bd9}
    .tile.green{border-top-color:#3fa45b}.tile.amber{border-top-color:#e8a33a}.tile.red{border-top-color:#d64545}.tile.grey{border-top-color:#b7c0cf}.tile.blue{border-top-color:#2f5fb3}
    .tile .label{color:#5a6780;font-size:13px}.tile .label span{color:#9aa5b8;font-size:11px;margin-left:4px}
    .tile .value{font-size:32px;font-weight:700;margin:2px 0;color:#16223a}
    .tile .value small{font-size:16px;font-weight:500;color:#5a6780;margin-left:2px}
    .tile .sub{color:#7b879c;font-size:12px}
    .grid{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin-bottom:16px}
    .card{background:#fff;border-radius:12px;padding:16px 18px;box-shadow:0 2px 8px rgba(20,40,80,.08)}
    .card.wide{grid-column:1 / span 2}
    section.card{margin-bottom:16px}
    h2{font-size:16px;margin:0 0 10px;color:#1d3b72}
    h2 span{font-size:12px;font-weight:400;color:#9aa5b8;margin-left:6px}
    svg text{font-family:inherit}
    .axis{font-size:13px;fill:#44516a}.tick{font-size:11px;fill:#9aa5b8}.val{font-size:12px;fill:#1f2a3d;font-weight:600}
    .grid line,line.grid{stroke:#e7ebf2;stroke-width:1}
    .note{color:#6b778c;font-size:12px;margin:6px 0 10px}
    .empty{color:#9aa5b8;padding:30px 0;text-align:center}
    table{width:100%;border-collapse:collapse}
    th{text-align:left;font-weight:600;color:#5a6780;font-size:12px;border-bottom:2px solid #e7ebf2;padding:6px 8px}
    td{border-bottom:1px solid #eef1f6;padding:8px;vertical-align:top}
    td.num{width:44px;text-align:right;color:#44516a}
    .pill{display:inline-block;background:#e8f0fe;color:#1d4fb8;border-radius:10px;padding:1px 9px;font-size:12px;white-space:nowrap}
    .pill.oos{background:#f1f2f5;color:#6b778c}
    .entry{color:#8a95a8;font-size:11px;margin-top:3px}
    .chip{display:inline-block;background:#f6f7fa;border:1px solid #e4e8ef;border-radius:6px;padding:1px 8px;margin:0 6px 5px 0;font-size:13px}
    .chip b{color:#d9822b;margin-left:5px;font-size:11px}
    footer{color:#7b879c;font-size:12px;padding:4px 2px}
    """
}
