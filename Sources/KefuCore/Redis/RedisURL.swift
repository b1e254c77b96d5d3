/// Where a Redis server is and how to log in: `redis://[user:password@]host[:port][/database]`.
///
/// The user and password are percent-decoded (`%40` for `@`, `%3A` for `:`, `%2F` for `/`,
/// `%25` for `%`), as in any URL, so a generated password can hold any character. `:password@`
/// alone logs in as the `default` user (`requirepass`); a user without a password is refused
/// rather than guessed at. `rediss://` (TLS), Unix sockets and `?options` are not supported
/// and say so, instead of being half-understood.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    /// An ACL user (Redis 6+); nil logs in as `default`.
    public var user: String?
    public var password: String?
    /// The logical database `SELECT`ed on every connection.
    public var database: Int

    public static let defaultPort: UInt16 = 6379

    public init(host: String = "127.0.0.1", port: UInt16 = RedisURL.defaultPort, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    public init(_ text: String) throws(RedisError) {
        let schemeEnd = text.range(of: "://")
        let scheme = schemeEnd.map { text[..<$0.lowerBound].lowercased() }
        guard let schemeEnd, scheme == "redis" else {
            switch scheme {
            case "rediss": throw .invalidURL("TLS (rediss://) is not supported; reach the server over loopback or a tunnel and use redis://")
            case "unix", "redis+unix": throw .invalidURL("Unix sockets are not supported; use redis://host:port")
            case nil: throw .invalidURL("\"\(text)\" does not start with redis://")
            case let other?: throw .invalidURL("scheme \"\(other)://\" is not redis://")
            }
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        if let mark = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            throw .invalidURL("options after \"\(rest[mark])\" (\(rest[mark...])) are not supported")
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = credentials.firstIndex(of: ":") else {
                throw .invalidURL("a user needs a password: redis://user:password@host (for the default user, redis://:password@host)")
            }
            let name = try Self.percentDecoded(credentials[..<colon], what: "user")
            let secret = try Self.percentDecoded(credentials[credentials.index(after: colon)...], what: "password")
            guard !secret.isEmpty else { throw .invalidURL("the password after \":\" is empty") }
            user = name.isEmpty ? nil : name
            password = secret
        }
        let (host, port) = try Self.hostAndPort(rest)
        var database = 0
        if !path.isEmpty {
            guard path.allSatisfy(\.isASCII), let number = Int(path), number >= 0, number < 1 << 20 else {
                throw .invalidURL("database \"\(path)\" is not a number (redis://host:port/0 is the first)")
            }
            database = number
        }
        self.init(host: host, port: port, user: user, password: password, database: database)
    }

    /// `host:port`, with IPv6 addresses in brackets, for messages.
    public var address: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The URL with the password hidden, safe for logs.
    public var description: String {
        var text = "redis://"
        if password != nil { text += "\(user ?? ""):***@" }
        text += address
        if database != 0 { text += "/\(database)" }
        return text
    }

    private static func hostAndPort(_ text: Substring) throws(RedisError) -> (String, UInt16) {
        var host = text
        var port: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalidURL("\"\(text)\" opens [ for an IPv6 address and does not close it") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidURL("\"\(after)\" after the IPv6 address is not :port") }
                port = after.dropFirst()
            }
        } else if let colon = text.firstIndex(of: ":") {
            guard text[text.index(after: colon)...].firstIndex(of: ":") == nil else {
                throw .invalidURL("\"\(text)\" has several colons; put an IPv6 address in brackets: redis://[::1]:6379")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw .invalidURL("no host; write redis://127.0.0.1:6379") }
        guard host.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && !"/\\@?#%".unicodeScalars.contains($0) }) else {
            throw .invalidURL("host \"\(host)\" has characters a host name cannot have")
        }
        guard let port else { return (String(host), defaultPort) }
        guard port.allSatisfy(\.isASCII), let number = UInt16(port), number > 0 else {
            throw .invalidURL("port \"\(port)\" is not a number from 1 to 65535")
        }
        return (String(host), number)
    }

    /// `%XX` escapes decoded, the result read as UTF-8. The text itself is never put in the
    /// error, since it may be a password.
    private static func percentDecoded(_ text: Substring, what: String) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2, utf8.prefix(2).allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
                  let decoded = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                throw .invalidURL("the \(what) has a % that is not followed by two hex digits; write a literal % as %25")
            }
            bytes.append(decoded)
            utf8 = utf8.dropFirst(2)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .invalidURL("the \(what)'s percent escapes do not decode to UTF-8 text")
        }
        return decoded
    }
}
