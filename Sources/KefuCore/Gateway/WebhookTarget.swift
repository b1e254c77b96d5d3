/// A webhook receiver's URL as `kefu serve --webhook` takes it: `http://HOST[:PORT][/PATH][?QUERY]`.
///
/// Only `http://`: the toolchain has no TLS, so a receiver on another network is reached
/// through a TLS-terminating proxy that listens on plain HTTP nearby.
public struct WebhookTarget: Sendable, Equatable, CustomStringConvertible {
    /// The URL as given; deliveries in the outbox are filed under it.
    public let url: String
    /// A name or an IPv4 address, or an IPv6 address without its brackets.
    public let host: String
    public let port: UInt16
    /// The request target: the path and the query, `/` when the URL has none.
    public let path: String

    public var description: String { url }

    /// What goes in the `Host` header.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    /// Why a text is not a webhook URL, in words for the operator.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(Invalid) {
        let lower = text.lowercased()
        if lower.hasPrefix("https://") {
            throw Invalid(description: "'\(text)': https is not supported (there is no TLS in this build); give an http:// URL, such as a TLS-terminating proxy on the same host")
        }
        guard lower.hasPrefix("http://") else {
            throw Invalid(description: "'\(text)' is not an http:// URL; give http://HOST:PORT/PATH")
        }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw Invalid(description: "'\(text)' holds spaces or control characters; percent-encode them")
        }
        guard !text.contains("#") else { throw Invalid(description: "'\(text)' has a fragment (#…), which is never sent; leave it out") }
        let rest = text.dropFirst("http://".count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.contains("@") else {
            throw Invalid(description: "'\(text)' has a user name or password; put a secret in the path or query instead, the requests are signed anyway")
        }
        var hostPart = Substring(authority)
        var portPart: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw Invalid(description: "'\(text)': an IPv6 address needs its closing ]") }
            let after = hostPart[hostPart.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty {
                throw Invalid(description: "'\(text)': only :PORT may follow the IPv6 address")
            }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portPart = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty else { throw Invalid(description: "'\(text)' names no host; give http://HOST:PORT/PATH") }
        let allowed = authority.hasPrefix("[") ? "0123456789abcdefABCDEF:." : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
        guard hostPart.allSatisfy({ allowed.contains($0) }) else {
            throw Invalid(description: "'\(text)': '\(hostPart)' is not a host name or address")
        }
        if let portPart {
            guard let port = UInt16(portPart), port > 0 else {
                throw Invalid(description: "'\(text)': the port must be a number from 1 to 65535, not '\(portPart)'")
            }
            self.port = port
        } else {
            port = 80
        }
        url = text
        host = hostPart.lowercased()
        let target = rest[authorityEnd...]
        path = target.isEmpty ? "/" : (target.hasPrefix("?") ? "/" + target : String(target))
    }
}
