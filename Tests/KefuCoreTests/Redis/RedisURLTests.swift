import Testing
@testable import KefuCore

@Suite("redis:// URLs")
struct RedisURLTests {
    @Test("host, port and database; defaults for what is left out")
    func parts() throws {
        #expect(try RedisURL("redis://127.0.0.1:6380/2") == RedisURL(host: "127.0.0.1", port: 6380, database: 2))
        #expect(try RedisURL("redis://cache.internal") == RedisURL(host: "cache.internal", port: 6379, database: 0))
        #expect(try RedisURL("redis://cache.internal/") == RedisURL(host: "cache.internal"))
        #expect(try RedisURL("REDIS://h:1") == RedisURL(host: "h", port: 1))
        let v6 = try RedisURL("redis://[::1]:7000/1")
        #expect(v6.host == "::1" && v6.port == 7000 && v6.database == 1 && v6.address == "[::1]:7000")
    }

    @Test("credentials are percent-decoded; :password alone is the default user")
    func credentials() throws {
        let url = try RedisURL("redis://alice:p%40ss%3Aw%2Frd%25%E4%BD%A0@h:1/0")
        #expect(url.user == "alice" && url.password == "p@ss:w/rd%你")
        let plain = try RedisURL("redis://:secret@h")
        #expect(plain.user == nil && plain.password == "secret")
        // An unencoded @ in the password still works: the host starts after the last @.
        #expect(try RedisURL("redis://bob:a@b@h").password == "a@b")
    }

    @Test("the description hides the password")
    func description() throws {
        let url = try RedisURL("redis://alice:hunter2@h:1/3")
        #expect(url.description == "redis://alice:***@h:1/3")
        #expect(try RedisURL("redis://:hunter2@h").description == "redis://:***@h:6379")
        #expect(RedisURL().description == "redis://127.0.0.1:6379")
    }

    @Test("what cannot be read is refused with the reason", arguments: [
        ("http://h", "scheme \"http://\" is not redis://"),
        ("rediss://h", "TLS (rediss://) is not supported"),
        ("unix:///tmp/redis.sock", "Unix sockets are not supported"),
        ("127.0.0.1:6379", "does not start with redis://"),
        ("redis://", "no host"),
        ("redis://:1", "no host"),
        ("redis://h:0", "port \"0\" is not a number from 1 to 65535"),
        ("redis://h:65536", "port \"65536\""),
        ("redis://h:abc", "port \"abc\""),
        ("redis://h:", "port \"\""),
        ("redis://h/x", "database \"x\" is not a number"),
        ("redis://h/-1", "database \"-1\""),
        ("redis://h/1/2", "database \"1/2\""),
        ("redis://alice@h", "a user needs a password"),
        ("redis://alice:@h", "the password after \":\" is empty"),
        ("redis://u:%zz@h", "the password has a % that is not followed by two hex digits"),
        ("redis://u:%+1@h", "not followed by two hex digits"),
        ("redis://%FF:p@h", "the user's percent escapes do not decode to UTF-8"),
        ("redis://h?db=1", "options after \"?\""),
        ("redis://::1:6379", "put an IPv6 address in brackets"),
        ("redis://[::1:6379", "does not close it"),
        ("redis://h h:1", "has characters a host name cannot have"),
    ])
    func refused(sample: (String, String)) {
        let error = redisError { _ = try RedisURL(sample.0) }
        guard case .invalidURL(let reason) = error else {
            Issue.record("\(sample.0) was accepted")
            return
        }
        #expect(reason.contains(sample.1), "\(sample.0): \(reason)")
        #expect(error?.description.contains("the form is redis://[user:password@]host[:port][/database]") == true)
    }

    @Test("a bad password escape does not show the password")
    func escapeErrorHidesPassword() {
        let error = redisError { _ = try RedisURL("redis://u:topsecret%zz@h") }
        #expect(error != nil && error?.description.contains("topsecret") == false)
    }
}
