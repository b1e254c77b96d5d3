import Foundation
import Testing
@testable import KefuCore

/// The one blocking line client (`kefu agent --connect`, the tests, the benchmarks) against a
/// hand-driven server socket, so each framing and failure is shown exactly.
@Suite("The line client")
struct LineClientTests {
    /// A listener on a free loopback port, the client connected to it, and the server's end.
    static func connected(timeout: TimeInterval = 2) throws -> (client: LineClient, server: Int32, listener: Int32) {
        let (listener, address) = try Socket.listen(Socket.Address(host: "127.0.0.1", port: 0))
        let client = try LineClient(address, timeout: timeout)
        for _ in 0..<200 {
            if let server = try Socket.accept(listener) { return (client, server, listener) }
            Thread.sleep(forTimeInterval: 0.005)
        }
        throw LineClientError.closed(address)
    }

    static func write(_ text: String, to fd: Int32) {
        _ = Array(text.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    @Test("an agent request skips pushed lines, reads a multi-line answer up to its dot, and an ERR as one line")
    func requests() throws {
        let (client, server, listener) = try Self.connected()
        defer { close(server); close(listener) }
        Self.write("* NEW T000001 0 requested …\nOK 2\n{\"id\":\"T000001\"}\n{\"id\":\"T000002\"}\n.\n", to: server)
        #expect(try client.request("LIST", multiline: true) == ["OK 2", "{\"id\":\"T000001\"}", "{\"id\":\"T000002\"}"])
        Self.write("ERR unknown ticket T9\n", to: server)
        #expect(try client.request("SHOW T9", multiline: true) == ["ERR unknown ticket T9"])
        Self.write("* TRANSFERRED T000001 from 主管\nOK T000001 claimed\n", to: server)
        #expect(try client.request("CLAIM T000001") == ["OK T000001 claimed"])
    }

    @Test("lines and reply blocks are read whole, however the bytes arrive")
    func framing() throws {
        let (client, server, listener) = try Self.connected()
        defer { close(server); close(listener) }
        Self.write("您好", to: server)
        Self.write("，请问\n第二行\n", to: server)
        Self.write("\n", to: server)
        #expect(try client.block() == "您好，请问\n第二行")
        Self.write("\nnext\n", to: server)
        #expect(try client.line() == "", "an empty line is a line")
        #expect(try client.line() == "next")
    }

    @Test("a server that does not answer fails the read after the timeout, and a closed one at once, each saying what to check")
    func failures() throws {
        let (client, server, listener) = try Self.connected(timeout: 0.2)
        defer { close(listener) }
        #expect(throws: LineClientError.noAnswer(client.address, after: 0.2)) { try client.line() }
        #expect(LineClientError.noAnswer(client.address, after: 0.2).description.contains("did not answer within"))
        Self.write("last words\n", to: server)
        close(server)
        #expect(try client.line() == "last words", "what came before the close is still read")
        #expect(throws: LineClientError.closed(client.address)) { try client.line() }
        #expect(client.isClosed())
    }
}
