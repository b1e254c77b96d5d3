import Foundation
import Testing

/// Runs the built `kefu` binary, the way a user or a script does.
@Suite("The kefu command")
struct CommandLineTests {
    static let packageRoot = KefuProcess.packageRoot
    static var binary: URL? { KefuProcess.binary }

    func run(_ arguments: [String], input: String = "", environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        try KefuProcess.run(arguments, input: input, environment: environment)
    }

    @Test("kefu classify prints one JSON object per message with topic, route and emotion")
    func classifyShippedKnowledgeBase() throws {
        let result = try run(["classify"], input: "我的信用卡丢了怎么办\n\n我要投诉你们的服务\n今天天气怎么样\n")
        #expect(result.status == 0)
        let objects = result.out.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == 3, "blank lines are skipped")
        #expect(objects[0]?["intent"] as? String == "card_service")
        #expect(objects[0]?["route"] as? String == "answer")
        #expect(objects[1]?["route"] as? String == "handoff")
        #expect(objects[1]?["reason"] as? String == "complaint")
        #expect(objects[2]?["intent"] as? String == "out_of_scope")
        #expect((objects[0]?["emotion"] as? [String: Any])?["level"] as? String == "calm")
    }

    @Test("kefu classify answers invalid UTF-8 with an error object and keeps going")
    func classifyInvalidUTF8() throws {
        let binary = try #require(Self.binary)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["classify"]
        process.currentDirectoryURL = Self.packageRoot
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        try? stdin.fileHandleForWriting.write(contentsOf: Data([0xC3, 0x28, 0x0A] + Array("退款\n".utf8)))
        try stdin.fileHandleForWriting.close()
        let out = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = out.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains("not valid UTF-8"))
        #expect(lines[1].contains("return_refund"))
    }

    @Test("kefu explain names the entry, the n-grams and the rule")
    func explainShowsReasons() throws {
        let result = try run(["explain", "卡丢了怎么挂失"])
        #expect(result.status == 0)
        #expect(result.out.contains("card_loss"))
        #expect(result.out.contains("n-grams:"))
        #expect(result.out.contains("rule "))
    }

    @Test("a wrong flag prints Error with the token and a suggestion, and exits 64")
    func wrongFlag() throws {
        let result = try run(["classify", "--kbb", "."])
        #expect(result.status == 64)
        #expect(result.err.contains("Error: unknown option '--kbb'"))
        #expect(result.err.contains("Did you mean '--kb'?"))
    }

    @Test("an unknown command suggests the nearest one")
    func unknownCommand() throws {
        let result = try run(["clasify"])
        #expect(result.status == 64)
        #expect(result.err.contains("Did you mean 'classify'?"))
    }

    @Test("a broken knowledge base is refused with file:line and exit 1")
    func brokenKnowledgeBase() throws {
        let folder = Scratch.folder("broken")
        try FileManager.default.createDirectory(atPath: folder + "/FAQ/x", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/Intents", withIntermediateDirectories: true)
        try "id: nope\n".write(toFile: folder + "/FAQ/x/nope.md", atomically: true, encoding: .utf8)
        let result = try run(["classify", "--kb", folder], input: "你好\n")
        #expect(result.status == 1)
        #expect(result.err.contains("FAQ/x/nope.md:1: an FAQ file must start with a `---` front matter block"))
    }

    @Test("every command kefu --help lists has help of its own")
    func helpForEveryCommand() throws {
        let listing = try run(["--help"]).out
        let commands = listing.components(separatedBy: "Commands:").last?.split(separator: "\n")
            .compactMap { line in line.hasPrefix("  ") ? line.split(separator: " ").first.map(String.init) : nil } ?? []
        #expect(commands.count >= 11 && commands.contains("serve"), "kefu --help lists the commands: \(listing)")
        for command in commands {
            let result = try run([command, "--help"])
            #expect(result.status == 0)
            #expect(result.out.hasPrefix("Usage: kefu \(command)"))
        }
    }

    @Test("kefu chat answers each piped line with one block and refuses an over-long line politely")
    func chatPipedBlocks() throws {
        let data = Scratch.folder("chat")
        let long = String(repeating: "长", count: 1000)
        let result = try run(["chat", "--data", data, "--customer", "p1"], input: "积分怎么查\n\n   \n\(long)\n谢谢\n")
        #expect(result.status == 0)
        let blocks = result.out.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(blocks.count == 3, "blank lines get no reply: \(blocks)")
        #expect(blocks[1].contains("太长"))
        #expect(blocks[2].contains("评分"))
        #expect(result.err.contains("longer than"))
    }

    @Test("kefu agent lists and shows a handed-off case as JSON with the fields integrations rely on")
    func agentJSON() throws {
        let data = Scratch.folder("agent")
        let chat = try run(["chat", "--data", data, "--customer", "c9", "--channel", "wechat"], input: "我的手机号13812345678，转人工\n")
        #expect(chat.out.contains("T000001"))
        let list = try run(["agent", "list", "--json", "--data", data])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.out.utf8)) as? [[String: Any]])
        let ticket = try #require(array.first)
        for key in ["id", "customer", "channel", "state", "reason", "priority", "created", "waiting_seconds", "summary"] {
            #expect(ticket[key] != nil, "list has \(key)")
        }
        #expect(ticket["channel"] as? String == "wechat")
        #expect((ticket["summary"] as? String)?.contains("138****5678") == true, "numbers are masked in listings")
        #expect(!list.out.contains("13812345678"))

        #expect(try run(["agent", "claim", "T000001", "--as", "张三", "--data", data]).status == 0)
        let conflict = try run(["agent", "claim", "T000001", "--as", "李四", "--data", data])
        #expect(conflict.status == 1)
        #expect(conflict.err.contains("already claimed by 张三"))
        let show = try run(["agent", "show", "T000001", "--json", "--data", data])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(show.out.utf8)) as? [String: Any])
        let transcript = try #require(object["transcript"] as? [[String: Any]])
        #expect(transcript.first?["from"] as? String == "customer")
        #expect(transcript.contains { $0["from"] as? String == "bot" })
        let turns = try #require(object["turns"] as? [[String: Any]])
        #expect(turns.first?["topic"] as? String == "human_agent")
        #expect(turns.first?["candidates"] != nil && turns.first?["emotion"] != nil)
        #expect((object["history"] as? [[String: Any]])?.contains { $0["action"] as? String == "claimed" } == true)
        let holder = try run(["agent", "show", "T000001", "--data", data, "--as", "张三"])
        #expect(holder.out.contains("13812345678"), "the agent holding the ticket sees the number")

        let stats = try run(["stats", "--json", "--data", data])
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(stats.out.utf8)) as? [String: Any])
        #expect(figures["handoff_rate"] as? Double == 1)
        #expect((figures["handoff_reasons"] as? [String: Int])?["requested"] == 1)
    }

    @Test("a customer id or message holding line breaks cannot add a line to kefu agent list or show")
    func agentTextOutputIsOneLinePerField() throws {
        let data = Scratch.folder("inject")
        let customer = "c9\n* NEW T999999 0 requested 假工单\r\u{2028}\u{85}"
        let chat = try run(["chat", "--data", data, "--customer", customer], input: "转人工\u{2028}* NEW T999998 0 requested 假\u{85}工单\n")
        #expect(chat.out.contains("T000001"))
        let list = try run(["agent", "list", "--data", data])
        let listed = list.out.components(separatedBy: "\n").filter { !$0.isEmpty }
        #expect(listed.count == 2, "one ticket is two lines: \(listed)")
        #expect(!listed.contains { $0.hasPrefix("*") })
        let show = try run(["agent", "show", "T000001", "--data", data])
        #expect(!show.out.components(separatedBy: "\n").contains { $0.hasPrefix("*") })
        for out in [list.out, show.out] {
            #expect(!out.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 })
        }
    }

    @Test("kefu chat picks up a saved edit to the knowledge files for the next message, and refuses a broken one")
    func chatHotReload() throws {
        let binary = try #require(Self.binary)
        let fixture = try KnowledgeFixture.make()
        let process = Process()
        process.executableURL = binary
        process.arguments = ["chat", "--kb", fixture.folder, "--data", Scratch.folder("hot")]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Each step waits for the reply to the previous message, so edits and messages cannot race.
        var received = ""
        func nextReply() -> String {
            while true {
                if let end = received.range(of: "\n\n") {
                    let block = String(received[..<end.lowerBound])
                    received = String(received[end.upperBound...])
                    return block
                }
                let chunk = stdout.fileHandleForReading.availableData
                if chunk.isEmpty { return "" }
                received += String(decoding: chunk, as: UTF8.self)
            }
        }
        try? stdin.fileHandleForWriting.write(contentsOf: Data("你好\n".utf8))
        _ = nextReply()
        let path = fixture.folder + "/FAQ/order_status/invoice.md"
        try "---\nid: invoice\n".write(toFile: path, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 2.2)
        try? stdin.fileHandleForWriting.write(contentsOf: Data("发票怎么开\n".utf8))
        let beforeFix = nextReply()
        try KnowledgeFixture.entry("invoice", topic: "order_status", questions: ["发票怎么开", "开发票", "要发票", "电子发票", "invoice", "发票在哪开"],
                                   answer: "发票可在{app_name}订单页申请。", extra: "boost: 发票 3\n").write(toFile: path, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 2.2)
        try? stdin.fileHandleForWriting.write(contentsOf: Data("发票怎么开\n".utf8))
        let afterFix = nextReply()
        try stdin.fileHandleForWriting.close()
        _ = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let blocks = [beforeFix, afterFix]
        #expect(!(blocks.first ?? "").contains("订单页申请"), "the broken edit was not applied")
        #expect(err.contains("FAQ/order_status/invoice.md:1: the front matter is not closed"))
        #expect(blocks.last?.contains("发票可在示例App订单页申请") == true, "the good edit answers the next message")
    }
}

