import Foundation
import Testing
@testable import KefuCore

@Suite("Redis pub/sub against redis-server", .serialized)
struct RedisSubscriberTests {
    /// Publishes until at least one subscriber receives it (PUBLISH counts them), so a test
    /// does not race a subscription or reconnect still under way; returns whether it got there.
    func publish(_ client: RedisClient, _ channel: String, _ payload: [UInt8], seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let receivers = try? client.command("PUBLISH", channel, payload).integer, receivers > 0 { return true }
            usleep(20_000)
        }
        return false
    }

    @Test(arguments: [RedisProtocolVersion.resp2, .resp3])
    func deliversChannelAndPatternMessages(protocolVersion: RedisProtocolVersion) throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let messages = Recorder<RedisMessage>()
        let statuses = Recorder<RedisSubscriber.Status>()
        let subscriber = try RedisSubscriber(configuration: try server.configuration(protocolVersion: protocolVersion),
                                             channels: ["kefu.events"], patterns: ["kefu.tickets.*"],
                                             onStatus: { statuses.append($0) }, onMessage: { messages.append($0) })
        defer { subscriber.stop() }
        #expect(statuses.wait { $0.contains(.subscribed(connection: 1)) })
        let client = RedisClient(configuration: try server.configuration())
        #expect(try client.command("PUBLISH", "kefu.events", "hello") == .integer(1))
        let binary: [UInt8] = [0, 0x0D, 0x0A, 0xFF]
        #expect(try client.command("PUBLISH", "kefu.tickets.42", binary) == .integer(1))
        #expect(try client.command("PUBLISH", "elsewhere", "not for us") == .integer(0))
        #expect(messages.wait { $0.count == 2 })
        #expect(messages.all == [
            RedisMessage(channel: "kefu.events", payload: Array("hello".utf8)),
            RedisMessage(channel: "kefu.tickets.42", pattern: "kefu.tickets.*", payload: binary),
        ])
        #expect(messages.all.first?.text == "hello")

        // Channels added and removed while running.
        subscriber.subscribe(channels: ["late"])
        #expect(publish(client, "late", Array("joined".utf8)))
        #expect(messages.wait { $0.last?.channel == "late" })
        subscriber.unsubscribe(channels: ["kefu.events"])
        let deadline = Date().addingTimeInterval(20)
        while (try? client.command("PUBLISH", "kefu.events", "gone").integer) != 0 && Date() < deadline { usleep(20_000) }
        #expect(try client.command("PUBLISH", "kefu.events", "gone") == .integer(0))

        // After stop the connection is closed: the server drops the subscription once it
        // has read the close, which it does on its own time.
        subscriber.stop()
        let count = messages.all.count
        let closed = Date().addingTimeInterval(20)
        while (try? client.command("PUBSUB", "NUMSUB", "late"))?.array?.last != .integer(0) && Date() < closed { usleep(10_000) }
        #expect(try client.command("PUBSUB", "NUMSUB", "late") == .array([.bulkString(Array("late".utf8)), .integer(0)]))
        #expect(messages.all.count == count)
        #expect(!statuses.all.contains { if case .disconnected = $0 { true } else { false } })
    }

    @Test("after the server restarts on the same port the subscriber reconnects and subscribes again")
    func resubscribesAfterRestart() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        var configuration = try server.configuration()
        configuration.reconnectDelay = .milliseconds(20)
        configuration.maxReconnectDelay = .milliseconds(200)
        let messages = Recorder<RedisMessage>()
        let statuses = Recorder<RedisSubscriber.Status>()
        let subscriber = try RedisSubscriber(configuration: configuration, channels: ["kefu.events"], patterns: ["kefu.p.*"],
                                             onStatus: { statuses.append($0) }, onMessage: { messages.append($0) })
        defer { subscriber.stop() }
        #expect(statuses.wait { $0.contains(.subscribed(connection: 1)) })
        let client = RedisClient(configuration: configuration)
        #expect(publish(client, "kefu.events", Array("before".utf8)))
        #expect(messages.wait { $0.map(\.text) == ["before"] })

        server.stop()
        try server.start()
        #expect(statuses.wait { $0.contains(.subscribed(connection: 2)) })
        #expect(statuses.all.contains { if case .disconnected = $0 { true } else { false } })
        #expect(publish(client, "kefu.events", Array("after".utf8)))
        #expect(publish(client, "kefu.p.1", Array("pattern after".utf8)))
        #expect(messages.wait { $0.map(\.text) == ["before", "after", "pattern after"] })
    }

    @Test("a silent server is found out by PING: frozen with SIGSTOP it is reported as a timeout, and after SIGCONT the subscriber is back")
    func healthCheck() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        var configuration = try server.configuration(commandTimeout: .milliseconds(300))
        configuration.healthCheckInterval = .milliseconds(200)
        configuration.connectTimeout = .milliseconds(300)
        configuration.reconnectDelay = .milliseconds(20)
        configuration.maxReconnectDelay = .milliseconds(200)
        let statuses = Recorder<RedisSubscriber.Status>()
        let subscriber = try RedisSubscriber(configuration: configuration, channels: ["c"], onStatus: { statuses.append($0) }, onMessage: { _ in })
        defer { subscriber.stop() }
        #expect(statuses.wait { $0.contains(.subscribed(connection: 1)) })
        server.pause()
        defer { server.resume() }
        #expect(statuses.wait {
            $0.contains { if case .disconnected(.timeout) = $0 { true } else { false } }
        })
        server.resume()
        #expect(statuses.wait { $0.contains { if case .subscribed(let n) = $0 { n >= 2 } else { false } } })
    }

    @Test("stop() ends the thread and closes the connection, even while the server is down")
    func stopWhileDown() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let statuses = Recorder<RedisSubscriber.Status>()
        let subscriber = try RedisSubscriber(configuration: try server.configuration(), channels: ["c"], onStatus: { statuses.append($0) }, onMessage: { _ in })
        #expect(statuses.wait { $0.contains(.subscribed(connection: 1)) })
        server.stop()
        #expect(statuses.wait { $0.contains { if case .disconnected = $0 { true } else { false } } })
        subscriber.stop()
        subscriber.stop()
        let count = statuses.all.count
        usleep(300_000)
        #expect(statuses.all.count == count)
    }
}
