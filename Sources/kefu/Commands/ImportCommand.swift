import Foundation
import KefuCore

/// `kefu import`: draft FAQ entries from a policy document.
enum ImportCommand {
    static let name = "import"
    static let summary = "draft FAQ entries from a plain-text or Markdown policy document"
    static let out = Option("--out", value: "DIR", help: "where to write the drafts", default: "FAQ/drafts under the --kb folder")
    static let maxDrafts = Option("--max", value: "N", help: "at most N drafts", default: "40")
    static let command = CommandDescription(
        name: name, summary: summary,
        usage: [UsageForm("DOCUMENT")],
        about: """
        Reads a policy document (UTF-8 plain text or Markdown, simplified or traditional
        Chinese, web-page noise tolerated) and drafts one FAQ entry per section or numbered
        point: a question, 6 suggested phrasings templated from the heading, an answer
        summarised from the text (its 1–2 most informative sentences, at most 160
        characters) and the topic the shipped classifier suggests. Each entry is written as
        DIR/<id>.md with `draft: true`: the knowledge base ignores it until an editor checks
        it and removes the mark. Running it again on the same document rewrites its drafts.
        """,
        options: [out, KnowledgeOptions.kb.with(help: "knowledge base for the suggested topics and existing ids", default: "$KEFU_KB or ."), maxDrafts],
        examples: ["kefu import policies/退款规则.md --out FAQ/drafts"])
    static var help: String { command.help }

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        guard let document = args.positionals.first else {
            throw UsageError(message: "which document? Pass its path: kefu import DOCUMENT.", command: name)
        }
        if args.positionals.count > 1 {
            throw UsageError(message: "unexpected argument '\(args.positionals[1])'; import one document at a time.", command: name)
        }
        var maximum = 40
        if let text = args[maxDrafts] {
            guard let n = Int(text), n > 0 else { throw UsageError(message: "--max needs a positive number, not '\(text)'.", command: name) }
            maximum = n
        }
        guard let data = FileManager.default.contents(atPath: document) else {
            throw CommandFailure(message: "cannot read \(document); check the path.")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure(message: "\(document) is not UTF-8 text; save it as UTF-8 (plain text or Markdown) first.")
        }
        let folder = KnowledgeOptions.folder(args)
        let kb = try KnowledgeOptions.load(args)
        let out = args[out] ?? (folder as NSString).appendingPathComponent("FAQ/drafts")
        // Ids already used by other files (drafts included); this document's own earlier drafts may be rewritten.
        var problems: [LoadProblem] = []
        let source = KnowledgeLoader.readSource(folder, problems: &problems)
        let taken = Set((source?.entries ?? []).filter { !isOwnDraft($0, folder: folder, document: document) }.map(\.id))
        let drafts = DocumentImporter.drafts(text: text, name: document, kb: kb, takenIDs: taken, maximum: maximum)
        if drafts.isEmpty {
            print("no sections with enough text found in \(document); nothing written.")
            return 0
        }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for d in drafts {
                let path = (out as NSString).appendingPathComponent(d.id + ".md")
                try DocumentImporter.render(d, source: (document as NSString).lastPathComponent).write(toFile: path, atomically: true, encoding: .utf8)
            }
        } catch {
            throw CommandFailure(message: "cannot write the drafts to \(out): \(error.localizedDescription)")
        }
        print("wrote \(drafts.count) draft entr\(drafts.count == 1 ? "y" : "ies") to \(out) from \(document):")
        for d in drafts {
            print("  \(d.id)  \(d.topic) (\(String(format: "%.2f", d.topicConfidence)))  line \(d.line)  \(d.question)")
        }
        print("Review each file, then remove `draft: true`; `kefu lint` checks them.")
        return 0
    }

    /// A draft this document wrote before (same source comment), which a new import replaces.
    static func isOwnDraft(_ entry: FAQEntry, folder: String, document: String) -> Bool {
        let path = entry.file.hasPrefix("/") ? entry.file : (folder as NSString).appendingPathComponent(entry.file)
        guard entry.isDraft, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        return text.contains("from \((document as NSString).lastPathComponent), line ")
    }
}
