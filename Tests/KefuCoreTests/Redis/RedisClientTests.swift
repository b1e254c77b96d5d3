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
        let client = RedisClient(configuration: try server.configuration(commandTimeout: .milliseconds(500)))
        try client.ping()
        server.pause()
        defer { server.resume() }
        let error = redisError { _ = try client.command("GET", "k") }
        guard case .timeout(let address, let operation, let after) = error else { Issue.record("expected a timeout, got \(String(describing: error))"); return }
        #expect(address == "127.0.0.1:\(server.port)" && operation == "waiting for the reply to GET" && after == .milliseconds(500))
        #expect(error?.isConnectionError == true)
        server.resume()
        try client.ping()
        #expect(client.connectionsOpened == 2)
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
