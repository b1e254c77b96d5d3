#if canImport(Glibc)
import Glibc
#endif

/// Linux `epoll`, for the gateway's event loop and the load generator.
///
/// Why not Dispatch read sources: on Linux, Dispatch re-arms a source with two `epoll_ctl`
/// calls and asks `ioctl(FIONREAD)` on every event, and hops each event from its manager
/// thread to a worker thread; at 20,000 messages/s that was three extra system calls and a
/// thread wake-up per message. Here a descriptor is registered once (level-triggered) and one
/// `epoll_wait` returns every ready descriptor of a busy moment.
///
/// Glibc's Swift module does not import `<sys/epoll.h>` and the package has no C targets, so
/// the three calls are looked up with `dlsym` and `struct epoll_event` is laid out by hand.
public final class Epoll {
    /// What one descriptor is ready for.
    public struct Event {
        /// The value given when the descriptor was registered.
        public let token: UInt64
        public let readable: Bool
        public let writable: Bool
        /// Hang-up or error: reading will tell which.
        public let failed: Bool
    }

    public struct Interest: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let read = Interest(rawValue: 0x001)   // EPOLLIN
        public static let write = Interest(rawValue: 0x004)  // EPOLLOUT
    }

    private typealias Create = @convention(c) (Int32) -> Int32
    private typealias Control = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias Wait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    private static let symbols: (create: Create, control: Control, wait: Wait)? = {
        guard let libc = dlopen(nil, RTLD_NOW),
              let create = dlsym(libc, "epoll_create1"),
              let control = dlsym(libc, "epoll_ctl"),
              let wait = dlsym(libc, "epoll_wait") else { return nil }
        return (unsafeBitCast(create, to: Create.self), unsafeBitCast(control, to: Control.self), unsafeBitCast(wait, to: Wait.self))
    }()

    // struct epoll_event { uint32_t events; epoll_data_t data; } is packed on x86-64.
    #if arch(x86_64)
    private static let eventSize = 12, dataOffset = 4
    #else
    private static let eventSize = 16, dataOffset = 8
    #endif
    private static let errorBits: UInt32 = 0x008 | 0x010  // EPOLLERR | EPOLLHUP
    private static let add: Int32 = 1, delete: Int32 = 2, modify: Int32 = 3
    private static let closeOnExec: Int32 = 0o2_000_000

    private let fd: Int32
    private let calls: (create: Create, control: Control, wait: Wait)
    private let capacity: Int
    private let buffer: UnsafeMutableRawPointer

    /// - Parameter capacity: the most events one `wait` returns.
    public init(capacity: Int = 1024) throws {
        guard let calls = Self.symbols else { throw SystemError(call: "dlsym", path: "epoll_create1", code: ENOSYS) }
        let fd = calls.create(Self.closeOnExec)
        guard fd >= 0 else { throw SystemError(call: "epoll_create1", path: "", code: errno) }
        self.fd = fd
        self.calls = calls
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity * Self.eventSize, alignment: 8)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    public func register(_ descriptor: Int32, token: UInt64, for interest: Interest) throws {
        try control(Self.add, descriptor, token: token, interest: interest)
    }

    /// Changes what the descriptor is watched for; an empty interest keeps it registered but quiet.
    public func change(_ descriptor: Int32, token: UInt64, to interest: Interest) throws {
        try control(Self.modify, descriptor, token: token, interest: interest)
    }

    /// Call before closing the descriptor.
    public func unregister(_ descriptor: Int32) {
        _ = calls.control(fd, Self.delete, descriptor, buffer)
    }

    private func control(_ operation: Int32, _ descriptor: Int32, token: UInt64, interest: Interest) throws {
        let result = withUnsafeTemporaryAllocation(byteCount: Self.eventSize, alignment: 8) { raw -> Int32 in
            raw.storeBytes(of: interest.rawValue, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: token, toByteOffset: Self.dataOffset, as: UInt64.self)
            return calls.control(fd, operation, descriptor, raw.baseAddress)
        }
        guard result == 0 else { throw SystemError(call: "epoll_ctl", path: "fd \(descriptor)", code: errno) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: no limit) and returns the ready descriptors
    /// (none on timeout or interruption).
    public func wait(timeoutMilliseconds: Int32, into events: inout [Event]) {
        events.removeAll(keepingCapacity: true)
        let n = calls.wait(fd, buffer, Int32(capacity), timeoutMilliseconds)
        guard n > 0 else { return }
        for i in 0..<Int(n) {
            let base = i * Self.eventSize
            let bits = buffer.loadUnaligned(fromByteOffset: base, as: UInt32.self)
            let token = buffer.loadUnaligned(fromByteOffset: base + Self.dataOffset, as: UInt64.self)
            events.append(Event(token: token, readable: bits & Interest.read.rawValue != 0,
                                writable: bits & Interest.write.rawValue != 0, failed: bits & Self.errorBits != 0))
        }
    }
}
