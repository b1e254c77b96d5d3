import Foundation
import Testing
@testable import KefuCore

/// The client against a real redis-server, one per test (see `RedisServerProcess`).
@Suite("Redis client against redis-server", .serialized)
struct RedisClientTests {
    @Test("SET and GET keep any bytes, in keys and values; a missing key is null")
    func binarySafe() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let client = RedisClient(configuration: try server.configuration())
        let key: [UInt8] = [0x6B, 0x0D, 0x0A, 0x20, 0x00, 0xFF]
        let value = [UInt8](0...255) + Array("\r\n$-1\r\n*3\r\n".utf8) + [0, 0]
        #expect(try client.command("SET", key, value) == .simpleString("OK"))
        #expect(try client.command("GET", key) == .bulkString(value))
        #expect(try client.command("SET", "empty", "") == .simpleString("OK"))
        #expect(try client.command("GET", "empty") == .bulkString([]))
        let large = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try client.command("SET", "large", large) == .simpleString("OK"))
        #expect(try client.command("GET", "large").bytes == large)
        #expect(try client.command("GET", "missing") == .null)
        #expect(try client.command(["STRLEN", "large"]) == .integer(1 << 20))
        try client.ping()
        #expect(client.connectionsOpened == 1)
    }

    @Test("1,000 commands go in one write and come back in one exchange, in order")
    func pipelineOfAThousand() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let connection = try RedisConnection(configuration: try server.configuration())
        let sets = (0..<1000).map { ["SET", RedisArgument("key:\($0)"), RedisArgument("value \($0)")] as [RedisArgument] }
        let before = connection.statistics
        let replies = try connection.send(sets)
        let after = connection.statistics
        #expect(replies == Array(repeating: .simpleString("OK"), count: 1000))
        #expect(after.exchanges - before.exchanges == 1)
        let gets = try connection.send((0..<1000).map { ["GET", RedisArgument("key:\($0)")] })
        #expect(gets.map(\.string) == (0..<1000).map { "value \($0)" })
        print("Redis pipeline of 1,000 SETs: 1 exchange, \(after.writes - before.writes) write call(s) for \(after.bytesWritten - before.bytesWritten) bytes, \(after.reads - before.reads) read call(s) for \(after.bytesRead - before.bytesRead) bytes")
        // The same through the client.
        let client = RedisClient(configuration: try server.configuration())
        let counts = try client.pipeline((0..<1000).map { _ in ["INCR", "counter"] })
        #expect(counts.map(\.integer) == (1...1000).map { Int64($0) })
    }

    @Test("an error reply in a pipeline stays in its place; as a single command it is thrown, and the connection is kept")
    func errorReplies() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let client = RedisClient(configuration: try server.configuration())
        let replies = try client.pipeline([["SET", "a", "1"], ["LPUSH", "a", "x"], ["GET", "a"]])
        #expect(replies[0] == .simpleString("OK") && replies[2] == .bulkString(Array("1".utf8)))
        #expect(replies[1].errorMessage?.hasPrefix("WRONGTYPE") == true)
        let error = redisError { _ = try client.command("LPUSH", "a", "x") }
        guard case .server(let message) = error else { Issue.record("expected a server error, got \(String(describing: error))"); return }
        #expect(message.hasPrefix("WRONGTYPE"))
        #expect(try client.command("GET", "a").string == "1")
        #expect(client.connectionsOpened == 1)
        #expect(redisError { _ = try client.command([]) } == .invalidCommand("a command needs at least its name, such as GET"))
    }

    @Test("AUTH with an ACL user and a percent-encoded password; a wrong password is refused clearly")
    func authentication() throws {
        let password = "p@ss:w/rd%"
        let server = try RedisServerProcess(arguments: ["--requirepass", "adminpw", "--user", "alice", "on", ">\(password)", "~*", "&*", "+@all"])
        defer { server.remove() }
        let address = "127.0.0.1:\(server.port)"
        let alice = RedisClient(configuration: try server.configuration("redis://alice:p%40ss%3Aw%2Frd%25@\(address)"))
        #expect(try alice.command("ACL", "WHOAMI").string == "alice")
        let admin = RedisClient(configuration: try server.configuration("redis://:adminpw@\(address)"))
        #expect(try admin.command("ACL", "WHOAMI").string == "default")

        let wrong = RedisClient(configuration: try server.configuration("redis://alice:wrong@\(address)"))
        let refused = redisError { try wrong.ping() }
        guard case .authenticationFailed(let at, let message) = refused else { Issue.record("expected authenticationFailed, got \(String(describing: refused))"); return }
        #expect(at == address && message.hasPrefix("WRONGPASS"))
        #expect(refused?.description.contains("check the user and password in the redis:// URL") == true)

        let anonymous = RedisClient(configuration: try server.configuration())
        #expect(redisError { try anonymous.ping() }.flatMap { if case .server(let m) = $0 { m } else { nil } }?.hasPrefix("NOAUTH") == true)

        // RESP3: the login goes in HELLO, and replies come typed.
        let resp3 = RedisClient(configuration: try server.configuration("redis://alice:p%40ss%3Aw%2Frd%25@\(address)", protocolVersion: .resp3))
        #expect(try resp3.command("HSET", "h", "f1", "v1", "f2", "v2") == .integer(2))
        let hash = try resp3.command("HGETALL", "h")
        #expect({ if case .map = hash { true } else { false } }())
        #expect(hash["f2"]?.string == "v2")
        let flat = try alice.command("HGETALL", "h")
        #expect({ if case .array = flat { true } else { false } }() && flat["f2"]?.string == "v2")
        #expect(try resp3.command("ZADD", "z", "1.5", "m") == .integer(1))
        #expect(try resp3.command("ZSCORE", "z", "m") == .double(1.5))
        let wrong3 = RedisClient(configuration: try server.configuration("redis://alice:wrong@\(address)", protocolVersion: .resp3))
        #expect({ if case .authenticationFailed = redisError({ try wrong3.ping() }) { true } else { false } }())
    }

    @Test("the database in the URL is selected on every connection; one the server lacks is refused")
    func selectDatabase() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let three = RedisClient(configuration: try server.configuration(server.url + "/3"))
        let zero = RedisClient(configuration: try server.configuration(server.url + "/0"))
        #expect(try three.command("SET", "where", "three") == .simpleString("OK"))
        #expect(try zero.command("GET", "where") == .null)
        #expect(try three.command("GET", "where").string == "three")
        // After a reconnect the database is selected again.
        three.close()
        #expect(try three.command("GET", "where").string == "three")
        #expect(three.connectionsOpened == 2)
        let missing = RedisClient(configuration: try server.configuration(server.url + "/99"))
        let error = redisError { try missing.ping() }
        guard case .server(let message) = error else { Issue.record("expected a server error, got \(String(describing: error))"); return }
        #expect(message.contains("DB index is out of range") && message.contains("SELECT 99 from the URL"))
    }

    @Test("scripts run by EVALSHA; after SCRIPT FLUSH, NOSCRIPT is answered by SCRIPT LOAD and EVALSHA again")
    func scripts() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let client = RedisClient(configuration: try server.configuration())
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        #expect(try client.evalScript(script, keys: ["n"], args: ["5"]) == .integer(5))
        #expect(try client.evalScript(script, keys: ["n"], args: ["2"]) == .integer(7))
        let sha = try #require(try client.command("SCRIPT", "LOAD", script.source).string)
        #expect(try client.command("SCRIPT", "EXISTS", sha) == .array([.integer(1)]))
        #expect(try client.command("SCRIPT", "FLUSH") == .simpleString("OK"))
        #expect(try client.command("SCRIPT", "EXISTS", sha) == .array([.integer(0)]))
        #expect(redisError { _ = try client.command("EVALSHA", sha, 1, "n", 1) }.map { if case .noScript = $0 { true } else { false } } == true)
        #expect(try client.evalScript(script, keys: ["n"], args: ["3"]) == .integer(10))
        #expect(try client.command("SCRIPT", "EXISTS", sha) == .array([.integer(1)]))

        // A hash given in advance, right or wrong, after another flush.
        _ = try client.command("SCRIPT", "FLUSH")
        #expect(try client.evalScript(RedisScript(script.source, sha1: sha.uppercased()), keys: ["n"], args: ["1"]) == .integer(11))
        _ = try client.command("SCRIPT", "FLUSH")
        #expect(try client.evalScript(RedisScript(script.source, sha1: String(repeating: "0", count: 40)), keys: ["n"], args: ["1"]) == .integer(12))

        // The script's own error is a server error, not NOSCRIPT.
        let failing = RedisScript("return redis.error_reply('BOOM the script failed')")
        #expect(redisError { _ = try client.evalScript(failing) }.map { if case .server(let m) = $0 { m.contains("BOOM") } else { false } } == true)
        #expect(client.connectionsOpened == 1)
    }

    @Test("a server frozen with SIGSTOP gives a timeout, not a hang; after SIGCONT the client reconnects")
    func timeoutOnFrozenServer() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        var configuration = try server.configuration(commandTimeout: .milliseconds(500))
        configuration.reconnectDelay = .milliseconds(10)
        let client = RedisClient(configuration: configuration)
        // Half a second is short on a busy machine: the first PING may take a few tries.
        let ready = Date().addingTimeInterval(20)
        while (try? client.ping()) == nil && Date() < ready { usleep(10_000) }
        let opened = client.connectionsOpened
        server.pause()
        defer { server.resume() }
        let error = redisError { _ = try client.command("GET", "k") }
        guard case .timeout(let address, let operation, let after) = error else { Issue.record("expected a timeout, got \(String(describing: error))"); return }
        #expect(address == "127.0.0.1:\(server.port)" && operation == "waiting for the reply to GET" && after == .milliseconds(500))
        #expect(error?.isConnectionError == true)
        server.resume()
        let back = Date().addingTimeInterval(20)
        while (try? client.ping()) == nil && Date() < back { usleep(10_000) }
        try client.ping()
        #expect(client.connectionsOpened > opened)
    }

    @Test("after the server restarts on the same port the client reconnects, and data kept in the append-only file is there")
    func reconnectAfterRestart() throws {
        let server = try RedisServerProcess(appendOnly: true)
        defer { server.remove() }
        var configuration = try server.configuration()
        configuration.reconnectDelay = .milliseconds(20)
        configuration.maxReconnectDelay = .milliseconds(200)
        let client = RedisClient(configuration: configuration)
        #expect(try client.command("SET", "kept", "yes") == .simpleString("OK"))
        server.stop()
        let down = redisError { try client.ping() }
        #expect(down?.isConnectionError == true, "\(String(describing: down))")
        if case .connectionRefused = down {} else { Issue.record("expected connection refused while down, got \(String(describing: down))") }
        try server.start()
        var value: RESPValue?
        let deadline = Date().addingTimeInterval(20)
        while value == nil && Date() < deadline {
            value = try? client.command("GET", "kept")
            if value == nil { usleep(20_000) }
        }
        #expect(value?.string == "yes")
        #expect(client.connectionsOpened == 2)
        // A connection the server closed while idle is replaced before the next command.
        server.stop()
        try server.start()
        #expect(try client.command("GET", "kept").string == "yes")
        #expect(client.connectionsOpened == 3)
    }

    @Test("nothing listening: connection refused, worded with what to check; retries wait for the back-off")
    func connectionRefused() throws {
        let port = try RedisServerProcess.freePort()
        var configuration = try RedisConfiguration("redis://127.0.0.1:\(port)")
        configuration.reconnectDelay = .seconds(60)
        let client = RedisClient(configuration: configuration)
        let first = redisError { try client.ping() }
        #expect(first == .connectionRefused(address: "127.0.0.1:\(port)"))
        #expect(first?.description.contains("is redis-server running") == true)
        // Within the back-off the last error comes back without a connect attempt.
        #expect(redisError { try client.ping() } == first)
        #expect(client.connectionsOpened == 0)
    }
}

@Suite("Redis client, more", .serialized)
struct RedisClientMoreTests {
    @Test("threads share one client: every command runs once, on one connection")
    func threads() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let client = RedisClient(configuration: try server.configuration())
        let failures = Recorder<String>()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<125 {
                do {
                    _ = try client.command("INCR", "shared")
                    if i % 25 == 0 { _ = try client.pipeline([["INCR", "pipelined"], ["INCR", "pipelined"]]) }
                } catch {
                    failures.append("thread \(thread): \(error)")
                }
            }
        }
        #expect(failures.all.isEmpty)
        #expect(try client.command("GET", "shared").integer == 1000)
        #expect(try client.command("GET", "pipelined").integer == 80)
        #expect(client.connectionsOpened == 1)
    }

    @Test("RESP3 pushes between replies go to onPush and never take a reply's place")
    func pushesBetweenReplies() throws {
        let server = try RedisServerProcess()
        defer { server.remove() }
        let connection = try RedisConnection(configuration: try server.configuration(protocolVersion: .resp3))
        #expect(connection.hello?["server"]?.string == "redis")
        var pushes: [RESPValue] = []
        connection.onPush = { pushes.append($0) }
        #expect(try connection.send(["CLIENT", "TRACKING", "ON"]) == .simpleString("OK"))
        #expect(try connection.send(["GET", "tracked"]) == .null)
        let other = RedisClient(configuration: try server.configuration())
        _ = try other.command("SET", "tracked", "changed")
        // The invalidation arrives on its own; the next reply is still the PING's.
        let deadline = Date().addingTimeInterval(20)
        while pushes.isEmpty && Date() < deadline {
            #expect(try connection.send(["PING"]) == .simpleString("PONG"))
            if pushes.isEmpty { usleep(10_000) }
        }
        #expect(pushes.first?.array?.first?.string == "invalidate")
        #expect(try connection.send(["GET", "tracked"]).string == "changed")
    }

    @Test("something that is not Redis is refused with a protocol error, and a huge length at once", arguments: [
        ("HTTP/1.1 400 Bad Request\r\n\r\n", "not a Redis server"),
        ("$1099511627776\r\n", "over the limit"),
        ("*1000000000\r\n", "over the limit"),
    ])
    func notRedis(sample: (String, String)) throws {
        let fake = try FakeServer(reply: Array(sample.0.utf8))
        defer { fake.close() }
        var configuration = try RedisConfiguration("redis://127.0.0.1:\(fake.port)")
        configuration.commandTimeout = .seconds(20)
        let client = RedisClient(configuration: configuration)
        let error = redisError { try client.ping() }
        guard case .protocolError(let reason) = error else { Issue.record("expected a protocol error, got \(String(describing: error))"); return }
        #expect(reason.contains(sample.1), "\(reason)")
        #expect(error?.description.hasSuffix("the connection was dropped") == true)
    }
}

/// A TCP listener on a free loopback port that answers the first bytes it reads with a fixed
/// reply and keeps the connection open, standing in for something that is not Redis.
final class FakeServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)

    init(reply: [UInt8]) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard ok, listen(listener, 4) == 0 else { throw RedisServerProcess.DidNotStart(description: "fake server: errno \(errno)") }
        port = UInt16(bigEndian: address.sin_port)
        let done = done
        Thread {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            if recv(fd, &buffer, buffer.count, 0) > 0 { _ = reply.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            _ = done.wait(timeout: .now() + 30)
            Glibc.close(fd)
        }.start()
    }

    func close() {
        done.signal()
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }
}
