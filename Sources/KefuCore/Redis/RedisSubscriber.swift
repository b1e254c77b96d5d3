import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One message published to a channel this subscriber listens to.
public struct RedisMessage: Sendable, Hashable {
    public let channel: String
    /// The pattern that matched, for messages that came through `PSUBSCRIBE`.
    public let pattern: String?
    public let payload: [UInt8]

    public init(channel: String, pattern: String? = nil, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload as text (invalid UTF-8 replaced).
    public var text: String { String(decoding: payload, as: UTF8.self) }
}

/// Pub/sub on a connection and a thread of its own.
///
/// Why its own connection: once a RESP2 connection has subscribed it only takes (un)subscribe
/// and `PING`, and its replies no longer pair with commands. Why its own thread: messages come
/// whenever they are published, and someone must be reading. The handler runs on that thread,
/// one message at a time in the order published; a slow handler delays the next messages
/// (and, far behind, makes Redis drop the connection at its pub/sub output limit).
///
/// When the connection fails (restart, network, no `PONG` within `commandTimeout` after
/// `healthCheckInterval` of silence) it reconnects with the client's back-off and subscribes
/// to every channel and pattern again. Messages published while it was away are lost: pub/sub
/// delivers at most once. State that must not be lost belongs in keys or streams, with pub/sub
/// only as the nudge to go and read them.
public final class RedisSubscriber: Sendable {
    /// How the subscription stands, for logs and for code that waits until it is live.
    public enum Status: Sendable, Equatable {
        /// Connected and every channel and pattern confirmed by the server; `connection` counts
        /// connections from 1, so more than 1 means subscribed again after a reconnect.
        case subscribed(connection: Int)
        /// The connection failed or could not be made; a reconnect follows after the back-off.
        case disconnected(RedisError)
        /// The server refused something on a live connection (`NOPERM` for a channel, say).
        case serverError(String)
    }

    private let worker: Worker

    /// Starts the subscriber's thread, which connects and subscribes; returns at once.
    public init(configuration: RedisConfiguration,
                channels: [String] = [],
                patterns: [String] = [],
                onStatus: (@Sendable (Status) -> Void)? = nil,
                onMessage: @escaping @Sendable (RedisMessage) -> Void) throws(RedisError) {
        worker = try Worker(configuration: configuration, channels: Set(channels), patterns: Set(patterns), onStatus: onStatus, onMessage: onMessage)
        let worker = worker
        let thread = Thread { worker.run() }
        thread.name = "redis-subscriber"
        thread.start()
    }

    deinit { worker.stop() }

    /// Adds channels and patterns; the thread sends `SUBSCRIBE`/`PSUBSCRIBE` at once.
    public func subscribe(channels: [String] = [], patterns: [String] = []) {
        worker.change { $0.channels.formUnion(channels); $0.patterns.formUnion(patterns) }
    }

    /// Removes channels and patterns.
    public func unsubscribe(channels: [String] = [], patterns: [String] = []) {
        worker.change { $0.channels.subtract(channels); $0.patterns.subtract(patterns) }
    }

    /// Closes the connection and ends the thread; when it returns the handler is not running
    /// and will not run again (called from the handler itself it cannot wait, and does not).
    public func stop() { worker.stop() }
}

/// The subscriber's thread and what it shares with the callers.
private final class Worker: Sendable {
    struct Wanted {
        var channels: Set<String>
        var patterns: Set<String>
        var stopping = false
        var thread: pthread_t?
    }

    let configuration: RedisConfiguration
    let onStatus: (@Sendable (RedisSubscriber.Status) -> Void)?
    let onMessage: @Sendable (RedisMessage) -> Void
    let wanted: Mutex<Wanted>
    /// A pipe that `change` and `stop` write a byte to, so the thread wakes from its wait at once.
    let wakeRead: Int32
    let wakeWrite: Int32
    let finished = DispatchSemaphore(value: 0)

    init(configuration: RedisConfiguration, channels: Set<String>, patterns: Set<String>,
         onStatus: (@Sendable (RedisSubscriber.Status) -> Void)?, onMessage: @escaping @Sendable (RedisMessage) -> Void) throws(RedisError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw .connectionFailed(address: configuration.url.address, reason: "pipe: \(String(cString: strerror(errno)))")
        }
        // pipe2 is not in Glibc's Swift overlay: the flags are set one by one.
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        self.configuration = configuration
        self.onStatus = onStatus
        self.onMessage = onMessage
        wanted = Mutex(Wanted(channels: channels, patterns: patterns))
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    var isStopping: Bool { wanted.withLock { $0.stopping } }

    func change(_ update: (inout Wanted) -> Void) {
        wanted.withLock { update(&$0) }
        wake()
    }

    func stop() {
        let onOwnThread = wanted.withLock { wanted in
            wanted.stopping = true
            return wanted.thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
        }
        wake()
        guard !onOwnThread else { return }
        // Signalled once when the thread ends, and passed on so every caller of stop gets through.
        finished.wait()
        finished.signal()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func drainWake() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &bytes, bytes.count) > 0 {}
    }

    // MARK: - The thread

    func run() {
        wanted.withLock { $0.thread = pthread_self() }
        defer { finished.signal() }
        var connections = 0
        var failures = 0
        while !isStopping {
            do throws(RedisError) {
                let connection = try RedisConnection(configuration: configuration)
                connections += 1
                defer { connection.close() }
                try serve(connection, number: connections) { failures = 0 }
            } catch {
                if isStopping { break }
                onStatus?(.disconnected(error))
                failures += 1
                pause(configuration.backoff(afterFailures: failures))
            }
        }
    }

    /// Subscribes on a fresh connection and delivers messages until stopped or failed.
    private func serve(_ connection: RedisConnection, number: Int, subscribed: () -> Void) throws(RedisError) {
        var current = (channels: Set<String>(), patterns: Set<String>())
        var unconfirmed = 0
        var announced = false
        func announce() {
            guard !announced, unconfirmed == 0 else { return }
            announced = true
            subscribed()
            onStatus?(.subscribed(connection: number))
        }
        /// Brings the server's subscriptions in line with what the callers want.
        func catchUp() throws(RedisError) {
            let want = wanted.withLock { ($0.channels, $0.patterns) }
            var commands: [[RedisArgument]] = []
            let newChannels = want.0.subtracting(current.channels).sorted()
            let newPatterns = want.1.subtracting(current.patterns).sorted()
            let oldChannels = current.channels.subtracting(want.0).sorted()
            let oldPatterns = current.patterns.subtracting(want.1).sorted()
            if !newChannels.isEmpty { commands.append(["SUBSCRIBE"] + newChannels.map { RedisArgument($0) }) }
            if !newPatterns.isEmpty { commands.append(["PSUBSCRIBE"] + newPatterns.map { RedisArgument($0) }) }
            if !oldChannels.isEmpty { commands.append(["UNSUBSCRIBE"] + oldChannels.map { RedisArgument($0) }) }
            if !oldPatterns.isEmpty { commands.append(["PUNSUBSCRIBE"] + oldPatterns.map { RedisArgument($0) }) }
            unconfirmed += newChannels.count + newPatterns.count
            current = want
            if !commands.isEmpty { try connection.write(commands) }
        }

        try catchUp()
        announce()
        let interval = configuration.healthCheckInterval.nanoseconds
        var lastHeard = Measure.now()
        var pingSent: UInt64?
        while true {
            while let value = try connection.nextValue() {
                lastHeard = Measure.now()
                pingSent = nil
                if confirms(value) {
                    unconfirmed = max(0, unconfirmed - 1)
                    announce()
                }
            }
            if isStopping { return }
            let deadline = pingSent.map { $0 + configuration.commandTimeout.nanoseconds } ?? lastHeard + interval
            if Measure.now() >= deadline {
                guard pingSent == nil else {
                    throw .timeout(address: configuration.url.address, operation: "waiting for PONG on the subscriber's connection", after: configuration.commandTimeout)
                }
                try connection.write([["PING"]])
                pingSent = Measure.now()
                continue
            }
            if try connection.waitForData(wake: wakeRead, deadline: deadline) == .woken {
                drainWake()
                if isStopping { return }
                try catchUp()
            }
        }
    }

    /// Delivers a message; returns whether the value confirmed a `SUBSCRIBE` or `PSUBSCRIBE`.
    private func confirms(_ value: RESPValue) -> Bool {
        if case .error(let message) = value {
            onStatus?(.serverError(message))
            return false
        }
        // RESP2 sends pub/sub events as arrays, RESP3 as pushes; `array` reads both.
        guard let items = value.array, let kind = items.first?.string?.lowercased() else { return false }
        func text(_ item: RESPValue) -> String { item.bytes.map { String(decoding: $0, as: UTF8.self) } ?? "" }
        switch kind {
        case "message" where items.count == 3:
            onMessage(RedisMessage(channel: text(items[1]), payload: items[2].bytes ?? []))
        case "pmessage" where items.count == 4:
            onMessage(RedisMessage(channel: text(items[2]), pattern: text(items[1]), payload: items[3].bytes ?? []))
        case "subscribe", "psubscribe":
            return true
        default:
            break  // unsubscribe confirmations, PONG
        }
        return false
    }

    /// Sleeps for the back-off, waking early for `stop`.
    private func pause(_ delay: Duration) {
        let end = Measure.now() + delay.nanoseconds
        while !isStopping, let timeout = try? TCPClient.milliseconds(until: end) {
            var fd = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
            if poll(&fd, 1, timeout) > 0 { drainWake() }
        }
    }
}
