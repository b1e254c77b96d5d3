import Foundation
import Testing
@testable import KefuCore

/// Kills a real `kefu chat` with SIGKILL while it writes, then checks what survived.
@Suite("Crash recovery")
struct CrashRecoveryTests {
    @Test("after kill -9, every acknowledged message is in the ticket, once, and the queue still opens")
    func killedWriterLosesNothingAcknowledged() throws {
        let binary = try #require(KefuProcess.binary, "build the kefu executable first (swift build)")
        let data = Scratch.folder("crash")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["chat", "--data", data, "--customer", "crash"]
        process.currentDirectoryURL = KefuProcess.packageRoot
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()

        // Write the messages from another thread; the process answers each after syncing it.
        let total = 3000
        let writer = Thread {
            let handle = stdin.fileHandleForWriting
            var text = "转人工\n"
            for i in 1...total { text += "消息\(i)\n" }
            try? handle.write(contentsOf: Data(text.utf8))
        }
        writer.start()

        // Read reply blocks until enough messages are acknowledged, then kill mid-stream.
        var acknowledged = 0
        var buffer = Data()
        let reader = stdout.fileHandleForReading
        while acknowledged < 60 {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            acknowledged = String(decoding: buffer, as: UTF8.self).components(separatedBy: "\n\n").count - 2  // minus the handoff block and the unfinished tail
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(acknowledged >= 60)

        let store = try TicketStore(folder: data)
        let ticket = try #require(store.openTicket(customer: "crash"))
        let received = ticket.transcript.filter { $0.from == "customer" }.map(\.text).filter { $0.hasPrefix("消息") }
        #expect(received.count >= acknowledged, "every acknowledged message survived")
        #expect(Set(received).count == received.count, "nothing is duplicated")
        #expect(received == (1...received.count).map { "消息\($0)" }, "in order, without gaps")
        // The data folder is still usable after the crash.
        _ = try store.open(TicketDraft(conversation: "x", customer: "after", channel: "test", reason: .requested, topic: "human_agent",
                                       summary: "", facts: [], transcript: [], turns: []), now: Date())
        #expect(try TicketStore(folder: data).queue().count == 2)
    }
}
