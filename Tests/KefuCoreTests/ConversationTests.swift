import Foundation
import Testing
@testable import KefuCore

/// Conversations as data: every `Conversations/*.conv` file is one customer's chat with the
/// shipped knowledge base, run by the same runner as `kefu test` (the syntax is in
/// docs/KNOWLEDGE-FORMAT.md, "Regression files"), against a fresh data folder.
@Suite("Conversations")
struct ConversationTests {
    static let kb: KnowledgeBase = try! KnowledgeLoader.load(from: KefuProcess.packageRoot.path)
    static let folder = KefuProcess.packageRoot.appendingPathComponent("Tests/KefuCoreTests/Conversations").path
    static let files: [String] = (try? FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".conv") }.sorted()) ?? []

    @Test("conversation files exist")
    func filesExist() { #expect(Self.files.count >= 10) }

    @Test("each conversation goes as its transcript says", arguments: files)
    func conversation(_ file: String) throws {
        let path = Self.folder + "/" + file
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let cases = RegressionFile.parse(text, file: "Conversations/" + file, conversation: file)
        #expect(cases.count == 1, "one conversation per file: \(cases.map(\.line))")
        for result in RegressionRunner(kb: Self.kb).run(cases) {
            #expect(result.passed, "\(result.detail)")
        }
    }
}
