#if canImport(Glibc)
import Glibc
#endif

/// Thin TCP wrappers over POSIX sockets: raw calls live here, errors carry errno.
public enum Socket {
    /// `HOST:PORT` (IPv4; `localhost` means 127.0.0.1). Port 0 asks the kernel for a free port.
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        public let host: String
        public let port: UInt16
        public var description: String { "\(host):\(port)" }

        public init(host: String, port: UInt16) {
            self.host = host
            self.port = port
        }

        public init?(_ text: String) {
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
            let host = String(text[..<colon])
            self.host = host.isEmpty || host == "localhost" ? "127.0.0.1" : host
            self.port = port
        }

        func sockaddr() throws -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
                throw SystemError(call: "inet_pton", path: host, code: EINVAL)
            }
            return address
        }
    }

    /// A non-blocking listening socket; returns it and the address actually bound.
    public static func listen(_ address: Address, backlog: Int32 = 1024) throws -> (fd: Int32, bound: Address) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(call: "socket", path: address.description, code: errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = try address.sockaddr()
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { let e = errno; close(fd); throw SystemError(call: "bind", path: address.description, code: e) }
        guard Glibc.listen(fd, backlog) == 0 else { let e = errno; close(fd); throw SystemError(call: "listen", path: address.description, code: e) }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Address(host: address.host, port: UInt16(bigEndian: actual.sin_port)))
    }

    /// Accepts one pending connection as a non-blocking socket, or nil when none is pending.
    static func accept(_ listener: Int32) throws -> Int32? {
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 {
                // accept4 is not in Glibc's Swift overlay: set the flags the listener's sockets need.
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                var yes: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK, ECONNABORTED: return nil
            default: throw SystemError(call: "accept", path: "listener", code: errno)
            }
        }
    }

    /// The IP address of the other end of a connected socket ("unknown" if it cannot be read).
    static func peerHost(_ fd: Int32) -> String {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) } } == 0
        guard ok, address.sin_family == sa_family_t(AF_INET) else { return "unknown" }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count)) != nil else { return "unknown" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A blocking client connection (for `kefu agent --connect` and the load generator).
    public static func connect(_ address: Address) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(call: "socket", path: address.description, code: errno) }
        var addr = try address.sockaddr()
        let result = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard result == 0 else { let e = errno; close(fd); throw SystemError(call: "connect", path: address.description, code: e) }
        var yes: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    /// What a non-blocking read produced.
    enum ReadResult { case data(Int), wouldBlock, closed, failed(Int32) }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { return .data(n) }
            if n == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(errno)
            }
        }
    }

    /// Writes what the socket takes now; returns the byte count, or nil when the peer is gone.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int? {
        try? POSIX.sendAvailable(fd, bytes).get()
    }
}
