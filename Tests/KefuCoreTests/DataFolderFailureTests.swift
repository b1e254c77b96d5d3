import Foundation
import Testing
@testable import KefuCore

/// A data folder that cannot be written: a full disk, a read-only one.
@Suite("A data folder that cannot be written", .serialized)
struct DataFolderFailureTests {
    let commands = CommandLineTests()

    @Test("on a full disk customers are still answered, the lost events are counted, and the gap is recorded once the disk has room")
    func fullDisk() throws {
        let disk = ScratchDisk(kilobytes: 400)
        let folder = disk.map { $0.path + "/data" } ?? RunningGateway.dataFolder()
        let server = try RunningGateway(folder: folder)
        var filler: String?
        struct DiskFull: Error {}
        if let disk { filler = disk.fill() } else { (server.desk.events as! EventLog).writeFault = { throw DiskFull() } }
        let agent = try server.loggedInAgent()
        let c = try TestClient(server.customer)
        for text in ["我要退款", "快递到哪了", "我要退款"] {
            c.send(text)
            #expect(c.block()?.isEmpty == false, "answered although the event cannot be written")
        }
        let stats = try server.stats(agent)
        #expect((stats["unrecorded_events"] as? Int ?? 0) >= 3)
        #expect(stats["unrecorded_since"] is String)

        if let filler { try FileManager.default.removeItem(atPath: filler) } else { (server.desk.events as! EventLog).writeFault = nil }
        c.send("快递到哪了")
        #expect(c.block()?.isEmpty == false)
        server.stop()

        let (events, _) = try EventLog.read(folder: folder)
        let metrics = ServiceMetrics(events: events)
        #expect(metrics.unrecordedEvents >= 3)
        let result = try commands.run(["stats", "--data", folder])
        #expect(result.status == 0)
        #expect(result.out.contains("events could not be recorded between"), "\(result.out)")
        #expect(result.out.contains("figures are incomplete"))
    }

    @Test("agent list and show, stats and report run on a read-only data folder")
    func readOnlyFolder() throws {
        let disk = ScratchDisk(kilobytes: 1024)
        let folder = disk.map { $0.path + "/data" } ?? RunningGateway.dataFolder()
        let fixture = try KnowledgeFixture.make()
        let chat = try commands.run(["chat", "--kb", fixture.folder, "--data", folder, "--customer", "c1"], input: "我要退款\n转人工\n")
        #expect(chat.status == 0)
        if let disk {
            #expect(disk.makeReadOnly())
        } else {
            chmod(folder, 0o555)  // only keeps out a user who is not root
        }
        #expect(FileManager.default.isWritableFile(atPath: folder + "/tickets.log") == false || disk == nil)

        let list = try commands.run(["agent", "list", "--data", folder])
        #expect(list.status == 0, "\(list.err)")
        #expect(list.out.contains("T000001"))
        let show = try commands.run(["agent", "show", "T000001", "--data", folder])
        #expect(show.status == 0, "\(show.err)")
        let stats = try commands.run(["stats", "--data", folder])
        #expect(stats.status == 0, "\(stats.err)")
        #expect(stats.out.contains("conversations        1"))
        let report = try commands.run(["report", "--data", folder, "--kb", fixture.folder])
        #expect(report.status == 0, "\(report.err)")
        let claim = try commands.run(["agent", "claim", "T000001", "--as", "张三", "--data", folder])
        #expect(claim.status != 0, "changing the queue still needs a writable folder")
    }
}
