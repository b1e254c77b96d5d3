import Foundation
import Testing
@testable import KefuCore

/// `kefu lint`, `kefu test`, `kefu report` and `kefu import` run as built binaries: output
/// formats and exit statuses editors and CI scripts rely on.
@Suite("The editors' commands")
struct EditingCommandLineTests {
    static let packageRoot = KefuProcess.packageRoot

    func run(_ arguments: [String], in directory: URL = packageRoot) throws -> (status: Int32, out: String, err: String) {
        try KefuProcess.run(arguments, in: directory)
    }

    static func temporary(_ name: String) -> String { Scratch.folder(name) }

    @Test("each editors' command has help")
    func help() throws {
        for command in ["lint", "test", "report", "import"] {
            let result = try run([command, "--help"])
            #expect(result.status == 0)
            #expect(result.out.hasPrefix("Usage: kefu \(command)"))
        }
    }

    @Test("kefu lint prints file:line: severity: message [rule] and a count, exits 1 on errors; --json is one array")
    func lint() throws {
        var entries = KnowledgeFixture.standardEntries
        entries["card_service/card_loss.md"] = KnowledgeFixture.entry("card_loss", topic: "card_service", questions: ["卡丢了", "挂失", "lost card"], answer: "请拨打 {hotlin}。")
        let broken = try KnowledgeFixture.make(entries: entries)
        let text = try run(["lint", "--kb", broken.folder])
        #expect(text.status == 1)
        let lines = text.out.split(separator: "\n").map(String.init)
        #expect(lines.contains("FAQ/card_service/card_loss.md:11: error: unknown placeholder {hotlin}: add it to Intents/company.txt or fix the name [unknown_placeholder]"))
        #expect(lines.contains { $0.hasPrefix("FAQ/card_service/card_loss.md:2: warning: only 3 phrasings") && $0.hasSuffix("[few_phrasings]") })
        #expect(lines.last?.hasPrefix("1 error, ") == true)

        let json = try run(["lint", "--kb", broken.folder, "--json"])
        #expect(json.status == 1)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]])
        #expect(array.contains { $0["rule"] as? String == "unknown_placeholder" && $0["severity"] as? String == "error" && $0["line"] as? Int == 11 })
        #expect(array.allSatisfy { Set($0.keys) == ["file", "line", "severity", "rule", "message"] })

        let clean = try run(["lint", "--kb", try KnowledgeFixture.make().folder])
        #expect(clean.status == 0, "warnings alone exit 0: \(clean.out)")
    }

    @Test("kefu test prints PASS/FAIL lines and the closing line N passed, N failed; exits 1 when a case fails")
    func regressionFile() throws {
        let kb = try KnowledgeFixture.make().folder
        let file = Self.temporary("cases") + ".txt"
        try "# cases\n我的银行卡丢了 => card_service / card_loss / answer\n我的银行卡丢了 => return_refund\n".write(toFile: file, atomically: true, encoding: .utf8)
        let failing = try run(["test", "--kb", kb, file])
        #expect(failing.status == 1)
        let lines = failing.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("PASS "))
        #expect(lines[1].hasPrefix("FAIL ") && lines[1].contains("expected return_refund, got card_service"))
        #expect(lines.last == "1 passed, 1 failed")

        try "我的银行卡丢了 => card_service\n转人工 => handoff requested\n".write(toFile: file, atomically: true, encoding: .utf8)
        let passing = try run(["test", "--kb", kb, file])
        #expect(passing.status == 0)
        #expect(passing.out.split(separator: "\n").last == "2 passed, 0 failed")

        let loo = try run(["test", "--kb", kb, "--loo", file])
        #expect(loo.out.contains("leave-one-out: 30 phrasings in 5 folds"))
        #expect(loo.out.contains("return_refund"))
        #expect(loo.out.split(separator: "\n").last == "2 passed, 0 failed", "the closing line stays last")
    }

    @Test("kefu report reads the event log: text, JSON with the documented keys, an HTML file; a bad --since is a usage error")
    func report() throws {
        let kb = try KnowledgeFixture.make().folder
        let data = Self.temporary("report")
        let events = try EventLog(folder: data)
        for e in EditingReportTests.events { try events.record(e) }
        let json = try run(["report", "--kb", kb, "--data", data, "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(object["conversations"] as? Int == 10)
        #expect(object["handoff_reasons"] as? [String: Int] == ["requested": 1])
        #expect((object["unanswered_clusters"] as? [[String: Any]])?.isEmpty == false)

        let html = Self.temporary("report") + ".html"
        let text = try run(["report", "--kb", kb, "--data", data, "--html", html])
        #expect(text.status == 0)
        #expect(text.out.contains("first contact"))
        #expect(text.out.contains("unanswered"))
        #expect(try String(contentsOfFile: html, encoding: .utf8).contains("<svg"))

        let since = try run(["report", "--kb", kb, "--data", data, "--since", "2099-01-01", "--json"])
        let later = try #require(try JSONSerialization.jsonObject(with: Data(since.out.utf8)) as? [String: Any])
        #expect(later["conversations"] as? Int == 0)

        let bad = try run(["report", "--kb", kb, "--data", data, "--since", "last tuesday"])
        #expect(bad.status == 64)
        #expect(bad.err.contains("cannot read the date 'last tuesday'"))
    }

    @Test("kefu import writes one draft file per candidate into --out and lists them")
    func importDocument() throws {
        let kb = try KnowledgeFixture.make().folder
        let document = Self.temporary("policy") + ".md"
        try EditingImportTests.document.write(toFile: document, atomically: true, encoding: .utf8)
        let out = Self.temporary("drafts")
        let result = try run(["import", document, "--kb", kb, "--out", out])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.hasPrefix("wrote 5 draft entries to \(out)"))
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files.count == 5)
        let first = try String(contentsOfFile: out + "/" + files[0], encoding: .utf8)
        #expect(first.contains("draft: true"))
        #expect(first.contains("## Questions") && first.contains("## Answers"))

        let missing = try run(["import", "--kb", kb])
        #expect(missing.status == 64)
    }
}
