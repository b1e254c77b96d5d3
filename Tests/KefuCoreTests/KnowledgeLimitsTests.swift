import Foundation
import Testing
@testable import KefuCore

@Suite("Knowledge files have size limits")
struct KnowledgeLimitsTests {
    /// A file of `bytes` bytes of FAQ-looking text at `relative` in the fixture.
    static func write(_ bytes: Int, to relative: String, in fixture: KnowledgeFixture) throws {
        let line = "- 这是一条很长的常见问题说明文字\n"
        let text = String(repeating: line, count: bytes / line.utf8.count + 1)
        try text.write(toFile: fixture.folder + "/" + relative, atomically: true, encoding: .utf8)
    }

    @Test("a file over the per-file limit is an error naming the file and its size, and is not read")
    func fileTooLarge() throws {
        let fixture = try KnowledgeFixture.make()
        try Self.write(20_000, to: "FAQ/order_status/dump.md", in: fixture)
        var limits = KnowledgeLimits()
        limits.maxFileBytes = 16_384
        var problems: [LoadProblem] = []
        #expect(KnowledgeLoader.readSource(fixture.folder, problems: &problems, limits: limits) == nil)
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(problem.file == "FAQ/order_status/dump.md")
        #expect(problem.message.contains("the file is 20 KiB, over the 16 KiB a knowledge file may hold"))
    }

    @Test("knowledge files over the total limit together are an error naming the largest and the sizes")
    func knowledgeBaseTooLarge() throws {
        let fixture = try KnowledgeFixture.make()
        try Self.write(100_000, to: "FAQ/order_status/a.md", in: fixture)
        var limits = KnowledgeLimits()
        limits.maxTotalBytes = 65_536
        #expect(throws: KnowledgeLoadError.self) { try KnowledgeLoader.load(from: fixture.folder, limits: limits) }
        var problems: [LoadProblem] = []
        _ = KnowledgeLoader.readSource(fixture.folder, problems: &problems, limits: limits)
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("over the 64 KiB a knowledge base may hold; this is the largest (98 KiB)") == true)
    }

    @Test("kefu lint reports a file over 1 MiB with its size and exits 1")
    func lintReportsLargeFile() throws {
        let fixture = try KnowledgeFixture.make()
        try Self.write(1_200_000, to: "FAQ/order_status/dump.md", in: fixture)
        let result = try CommandLineTests().run(["lint", "--kb", fixture.folder])
        #expect(result.status == 1)
        #expect((result.out + result.err).contains("FAQ/order_status/dump.md:0: error: the file is 1.1 MiB, over the 1.0 MiB a knowledge file may hold"))
    }
}

extension ServeProcessTests {
    @Test("a reload with a knowledge file over the limit is refused and the running bot keeps its knowledge base")
    func reloadRefusesLargeFile() throws {
        let fixture = try KnowledgeFixture.make()
        let server = try Server(kb: fixture.folder, data: RunningGateway.dataFolder())
        defer { server.process.terminate(); server.process.waitUntilExit() }
        try KnowledgeLimitsTests.write(2 << 20, to: "FAQ/order_status/dump.md", in: fixture)
        kill(server.process.processIdentifier, SIGHUP)
        let refused = server.errors(waitingFor: "reload refused")
        #expect(refused.contains("FAQ/order_status/dump.md:0: the file is 2.0 MiB"))
        let c = try TestClient(server.customer)
        c.send("我要退款")
        #expect(c.block()?.contains(KnowledgeFixture.answerText) == true)
    }
}
