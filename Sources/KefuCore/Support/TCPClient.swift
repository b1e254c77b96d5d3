#if canImport(Glibc)
import Glibc
#endif

/// One outgoing TCP connection whose every wait has a deadline.
///
/// Why not blocking calls with `SO_RCVTIMEO`: a client that pipelines writes a whole batch
/// while the replies already stream back, so it must wait for "readable *or* writable" at
/// once, and a connect must give up after its own timeout rather than the kernel's two
/// minutes. The descriptor is non-blocking from the start and `poll` does the waiting.
/// Not thread-safe: one owner uses it at a time.
public final class TCPClient {
    /// Why a connection could not be made or used; the owner words it for its users.
    public enum Failure: Error, Sendable, Equatable {
        /// The name did not resolve (`getaddrinfo`'s own words).
        case unresolved(String)
        /// Nothing listens on that port.
        case refused
        /// The deadline passed before the connect, read or write could finish.
        case timedOut
        /// The other end closed the connection (end of file, reset, broken pipe).
        case closed
        /// Any other system error.
        case failed(call: String, code: Int32)
    }

    /// What `wait` found the descriptor ready for.
    public struct Readiness: Sendable, Equatable {
        public var readable = false
        public var writable = false
        /// The other descriptor given to `wait` (a wake-up pipe) is readable.
        public var woken = false
    }

    public let host: String
    public let port: UInt16
    /// The descriptor, for callers that wait on it together with others; -1 once closed.
    public private(set) var descriptor: Int32

    /// Connects to `host:port` (an IPv4 or IPv6 literal or a name) within `deadline`, a
    /// `Measure.now()` time in nanoseconds. Name resolution itself is not bounded by the
    /// deadline (`getaddrinfo` has no timeout); literals resolve at once.
    public init(host: String, port: UInt16, deadline: UInt64) throws {
        self.host = host
        self.port = port
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure.unresolved(String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        // Every address of the name is tried in turn; the last failure is the one reported.
        var failure = Failure.refused
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let candidate = entry {
            entry = candidate.pointee.ai_next
            do {
                descriptor = try Self.connect(candidate.pointee, deadline: deadline)
                return
            } catch let error as Failure {
                failure = error
                if error == .timedOut { break }
            }
        }
        throw failure
    }

    deinit { close() }

    public func close() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
    }

    /// Writes what the kernel takes now without waiting: the byte count, 0 when its buffer is full.
    public func write(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        guard descriptor >= 0 else { throw Failure.closed }
        switch POSIX.sendAvailable(descriptor, bytes) {
        case .success(let count): return count
        case .failure(let error) where error.code == EPIPE || error.code == ECONNRESET: throw Failure.closed
        case .failure(let error): throw Failure.failed(call: "send", code: error.code)
        }
    }

    /// Reads what has arrived without waiting: the byte count, 0 when nothing is there yet.
    /// End of file throws `closed`, so 0 never means the peer left.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard descriptor >= 0 else { throw Failure.closed }
        while true {
            let n = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return n }
            if n == 0 { throw Failure.closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            case ECONNRESET: throw Failure.closed
            case let code: throw Failure.failed(call: "recv", code: code)
            }
        }
    }

    /// Waits until the connection is readable (or, with `writable`, writable) or `wake` (another
    /// descriptor, say a pipe another thread writes to) is readable. A nil deadline waits
    /// forever; a passed deadline throws `timedOut`.
    public func wait(writable: Bool = false, wake: Int32? = nil, deadline: UInt64?) throws -> Readiness {
        guard descriptor >= 0 else { throw Failure.closed }
        var events = Int16(POLLIN)
        if writable { events |= Int16(POLLOUT) }
        var fds = [pollfd(fd: descriptor, events: events, revents: 0)]
        if let wake { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
        while true {
            let timeout = try Self.milliseconds(until: deadline)
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure.failed(call: "poll", code: errno)
            }
            if n == 0 {
                if deadline == nil { continue }
                throw Failure.timedOut
            }
            let revents = fds[0].revents
            // An error or hang-up is reported as readable: the read then says which it was.
            let trouble = revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
            return Readiness(readable: revents & Int16(POLLIN) != 0 || trouble,
                             writable: revents & Int16(POLLOUT) != 0,
                             woken: fds.count > 1 && fds[1].revents != 0)
        }
    }

    /// Whether the peer has closed a connection that should be idle: end of file or an error
    /// is waiting. Data waiting (which an idle connection should not have) is reported too,
    /// through `hasData`, so the owner can decide. Looks without consuming.
    public func idleState() -> (closed: Bool, hasData: Bool) {
        guard descriptor >= 0 else { return (true, false) }
        var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        guard poll(&fds, 1, 0) > 0 else { return (false, false) }
        var byte: UInt8 = 0
        let n = recv(descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        if n > 0 { return (false, true) }
        if n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return (false, false) }
        return (true, false)
    }

    // MARK: - Connecting

    private static func connect(_ address: addrinfo, deadline: UInt64) throws -> Int32 {
        let fd = socket(address.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure.failed(call: "socket", code: errno) }
        do {
            var result = Glibc.connect(fd, address.ai_addr, address.ai_addrlen)
            while result != 0 && errno == EINTR { result = Glibc.connect(fd, address.ai_addr, address.ai_addrlen) }
            if result != 0 {
                guard errno == EINPROGRESS else { throw failure(connecting: errno) }
                try waitForConnect(fd, deadline: deadline)
            }
            var yes: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            return fd
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    private static func waitForConnect(_ fd: Int32, deadline: UInt64) throws {
        var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)]
        while true {
            let n = poll(&fds, 1, try milliseconds(until: deadline))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Failure.failed(call: "poll", code: errno) }
            if n == 0 { throw Failure.timedOut }
            break
        }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { throw Failure.failed(call: "getsockopt", code: errno) }
        if code != 0 { throw failure(connecting: code) }
    }

    private static func failure(connecting code: Int32) -> Failure {
        switch code {
        case ECONNREFUSED: .refused
        case ETIMEDOUT: .timedOut
        default: .failed(call: "connect", code: code)
        }
    }

    /// The `poll` timeout for a deadline: -1 for none, at least 1 ms while time is left (so a
    /// sub-millisecond remainder does not spin), and `timedOut` once it has passed.
    static func milliseconds(until deadline: UInt64?) throws -> Int32 {
        guard let deadline else { return -1 }
        let now = Measure.now()
        guard now < deadline else { throw Failure.timedOut }
        let remaining = (deadline - now + 999_999) / 1_000_000
        return Int32(min(remaining, UInt64(Int32.max)))
    }
}
