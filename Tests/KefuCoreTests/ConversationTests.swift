import Foundation
import Testing
@testable import KefuCore

/// Conversations as data: every `Conversations/*.conv` file is one customer's chat with the
/// shipped knowledge base, run against a fresh data folder.
///
///     # title
///     > customer line
///     < route answer | < topic card_service | < says 挂失 | < lacks 抱歉
///     < ticket complaint          (this message opened a ticket with that reason)
///     ! claim 李四 | ! reply 李四 text | ! resolve 李四   (an agent acts on the ticket)
///     @ 22:30                     (the clock, Asia/Shanghai; default 10:00)
///
/// Expectations apply to the reply to the customer line above them.
@Suite("Conversations")
struct ConversationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let kb: KnowledgeBase = try! KnowledgeLoader.load(from: root)
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Conversations").path
    static let files: [String] = (try? FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".conv") }.sorted()) ?? []

    @Test("conversation files exist")
    func filesExist() { #expect(Self.files.count >= 10) }

    @Test("each conversation goes as its transcript says", arguments: files)
    func conversation(_ file: String) throws {
        let path = Self.folder + "/" + file
        let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        let data = NSTemporaryDirectory() + "kefu-conv-" + UUID().uuidString
        let desk = try ServiceDesk(folder: data)
        let dialogue = Dialogue(kb: Self.kb, desk: desk)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        var now = calendar.date(from: DateComponents(year: 2026, month: 11, day: 23, hour: 10, minute: 0))!
        var state = try dialogue.start(customer: "customer-\(file)", channel: "test", now: now)
        var reply: Reply?
        var ticket: String?
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let location = SourceLocation(fileID: "KefuCoreTests/Conversations/\(file)", filePath: path, line: index + 1, column: 1)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let body = String(line.dropFirst(2))
            switch line.first {
            case ">":
                now = now.addingTimeInterval(5)
                reply = try dialogue.respond(to: body, in: &state, now: now)
                if let t = reply?.ticket { ticket = t.id }
            case "<":
                let r = try #require(reply, "an expectation before any customer line", sourceLocation: location)
                let parts = body.split(separator: " ", maxSplits: 1).map(String.init)
                let (what, value) = (parts[0], parts.count > 1 ? parts[1] : "")
                switch what {
                case "route": #expect(r.route?.rawValue == value, "reply was: \(r.text) [\(r.rule ?? "")]", sourceLocation: location)
                case "topic": #expect(r.topic == value, "reply was: \(r.text) [\(r.rule ?? "")]", sourceLocation: location)
                case "says": #expect(r.text.contains(value), "reply was: \(r.text)", sourceLocation: location)
                case "lacks": #expect(!r.text.contains(value), "reply was: \(r.text)", sourceLocation: location)
                case "ticket":
                    #expect(r.ticket?.reason.rawValue == value, "reply was: \(r.text) [\(r.rule ?? "")]", sourceLocation: location)
                    if let t = r.ticket { #expect(r.text.contains(t.id), "the customer is told the ticket number", sourceLocation: location) }
                case "no-ticket": #expect(r.ticket == nil, "reply was: \(r.text)", sourceLocation: location)
                default: Issue.record("unknown expectation '\(what)'", sourceLocation: location)
                }
            case "!":
                let parts = body.split(separator: " ", maxSplits: 2).map(String.init)
                let id = try #require(ticket, "an agent action before any ticket", sourceLocation: location)
                now = now.addingTimeInterval(60)
                switch parts[0] {
                case "claim": try desk.tickets.claim(id, agent: parts[1], now: now)
                case "reply": try desk.tickets.reply(id, agent: parts[1], text: parts.count > 2 ? parts[2] : "", now: now)
                case "resolve": try desk.tickets.resolve(id, agent: parts[1], note: nil, now: now)
                default: Issue.record("unknown agent action '\(parts[0])'", sourceLocation: location)
                }
            case "@":
                let hm = body.split(separator: ":").compactMap { Int($0) }
                now = calendar.date(bySettingHour: hm[0], minute: hm[1], second: 0, of: now)!
            default:
                Issue.record("unreadable line '\(line)'", sourceLocation: location)
            }
        }
        if let id = ticket {
            let stored = try #require(desk.tickets.ticket(id))
            #expect(!stored.summary.isEmpty)
            #expect(stored.transcript.contains { $0.from == "customer" }, "the ticket carries the transcript")
        }
    }
}
