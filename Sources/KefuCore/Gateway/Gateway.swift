import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Limits and addresses of `kefu serve`.
public struct GatewayConfiguration: Sendable {
    public var customerAddress = Socket.Address(host: "127.0.0.1", port: 8770)
    public var agentAddress = Socket.Address(host: "127.0.0.1", port: 8771)
    /// Longest accepted line; a longer one is refused whole with an error line.
    public var maxLineBytes = 4096
    /// Customer and agent connections together; the excess is told to retry later.
    public var maxConnections = 4096
    /// A connection silent this long is said goodbye to and closed.
    public var idleTimeout: TimeInterval = 600
    /// Per-connection rate limit (token bucket): lines per second, and the burst allowed.
    public var linesPerSecond: Double = 20
    public var burst: Double = 40
    /// Output waiting for a client that does not read; past it the client is disconnected.
    public var maxPendingWriteBytes = 1 << 20
    public var agentToken: String

    public init(agentToken: String) { self.agentToken = agentToken }
}

/// The line-protocol TCP gateway: customers and agents on two listeners, served by one
/// `poll()` loop for all I/O and one `ServiceEngine` thread for all conversation state.
///
/// The I/O thread never touches a conversation: it frames lines, enforces the limits, and
/// passes work to the engine; the engine's replies come back through an outbox and a wake
/// pipe. A slow or flooding client therefore costs only its own buffer and its own share
/// of the engine, never another customer's reply.
public final class Gateway: @unchecked Sendable {
    private let config: GatewayConfiguration
    private let counters = GatewayCounters()
    private var engine: ServiceEngine!
    private var customerListener: Int32 = -1
    private var agentListener: Int32 = -1
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1
    private var connections: [Int: Connection] = [:]
    /// Kept between iterations and changed in place: rebuilding 2,000 entries for every
    /// `poll()` was a sixth of the gateway's time under load. Slots 0–2 are the wake pipe
    /// and the two listeners; `owners[i]` is the connection polled at `pollfds[i]`.
    private var pollfds: [pollfd] = []
    private var owners: [Connection?] = []
    private var nextID = 1
    /// Connections not being read because they sent faster than their rate.
    private var paused = Set<Int>()
    private let outboxLock = NSLock()
    private var outbox: [GatewayOutput] = []
    private let flagLock = NSLock()
    private var shutdownRequested = false
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    final class Connection {
        enum Kind { case customer, agent }
        enum Mode { case unknown, plain, json }
        let id: Int
        let fd: Int32
        let kind: Kind
        var mode = Mode.unknown
        var customer: String?
        var partial: [UInt8] = []
        var discarding = false
        var out: [UInt8] = []
        var outStart = 0
        var lastActive: UInt64
        var tokens: Double
        var lastRefill: UInt64
        var lastWarning: UInt64 = 0
        var slot = -1
        var closeAfterWrite = false
        /// Over its rate: not read again until then, so TCP flow control holds the sender back.
        var pausedUntil: UInt64 = 0
        var pendingBytes: Int { out.count - outStart }

        init(id: Int, fd: Int32, kind: Kind, now: UInt64, burst: Double) {
            self.id = id
            self.fd = fd
            self.kind = kind
            lastActive = now
            lastRefill = now
            tokens = burst
        }
    }

    public init(kb: KnowledgeBase, desk: ServiceDesk, configuration: GatewayConfiguration) {
        config = configuration
        engine = ServiceEngine(dialogue: Dialogue(kb: kb, desk: desk), desk: desk, token: configuration.agentToken,
                               counters: counters) { [weak self] outputs in self?.post(outputs) }
    }

    /// Opens both listeners; returns the addresses actually bound (port 0 → a free port).
    public func bind() throws -> (customer: Socket.Address, agent: Socket.Address) {
        let customer = try Socket.listen(config.customerAddress)
        let agent = try Socket.listen(config.agentAddress)
        customerListener = customer.fd
        agentListener = agent.fd
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SystemError(call: "pipe", path: "wake", code: errno) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        return (customer.bound, agent.bound)
    }

    /// Serves until `shutdown()`; then stops accepting, finishes replies in flight, commits,
    /// says goodbye to every connection and returns.
    public func run() {
        engine.start()
        var lastIdleCheck = Measure.now()
        pollfds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: customerListener, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: agentListener, events: Int16(POLLIN), revents: 0)]
        owners = [nil, nil, nil]
        while !isShuttingDown {
            let ready = poll(&pollfds, nfds_t(pollfds.count), 1000)
            if ready < 0 && errno != EINTR { break }
            let began = Measure.now()
            if pollfds[0].revents != 0 { drainWakePipe() }
            flushOutbox()
            var inputs: [GatewayInput] = []
            var index = 3
            while index < pollfds.count {
                let revents = pollfds[index].revents
                let owner = owners[index]
                index += 1
                guard revents != 0, let c = owner else { continue }
                if revents & Int16(POLLOUT) != 0 { writePending(c) }
                if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, connections[c.id] != nil { readAvailable(c, into: &inputs) }
            }
            if !paused.isEmpty { resumePaused(now: began) }
            if pollfds[1].revents != 0 { acceptAll(customerListener, kind: .customer) }
            if pollfds[2].revents != 0 { acceptAll(agentListener, kind: .agent) }
            engine.submit(inputs)
            let now = Measure.now()
            if now - lastIdleCheck > 1_000_000_000 {
                lastIdleCheck = now
                closeIdle(now: now)
            }
            // poll() costs time for every descriptor it watches. With thousands open, wait
            // about a millisecond between scans so each one finds a batch of work, not one line.
            if connections.count > 256 {
                let spent = Measure.now() - began
                if spent < 1_000_000 { usleep(UInt32((1_000_000 - spent) / 1000)) }
            }
        }
        drainAndClose()
    }

    /// Asks `run()` to stop; safe from any thread (the signal handler calls it).
    public func shutdown() {
        flagLock.withLock { shutdownRequested = true }
        wake()
    }

    /// Swaps in a new knowledge base for the next message; connections stay open.
    public func reload(_ kb: KnowledgeBase) {
        engine.submit([.reload(kb)])
    }

    private var isShuttingDown: Bool { flagLock.withLock { shutdownRequested } }

    // MARK: Accepting and reading

    private func acceptAll(_ listener: Int32, kind: Connection.Kind) {
        while let fd = try? Socket.accept(listener) {
            if connections.count >= config.maxConnections {
                let busy = kind == .customer ? "抱歉，当前咨询人数较多，请稍后再试。(server busy, retry later)\n\n" : "ERR server busy, retry later\n"
                _ = Array(busy.utf8).withUnsafeBytes { Socket.write(fd, $0) }
                close(fd)
                continue
            }
            let c = Connection(id: nextID, fd: fd, kind: kind, now: Measure.now(), burst: config.burst)
            nextID += 1
            connections[c.id] = c
            c.slot = pollfds.count
            pollfds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
            owners.append(c)
            countConnections()
        }
    }

    private func readAvailable(_ c: Connection, into inputs: inout [GatewayInput]) {
        for _ in 0..<4 {  // bounded, so one busy client cannot starve the others
            let result = readBuffer.withUnsafeMutableBytes { Socket.read(c.fd, into: $0) }
            switch result {
            case .data(let n):
                c.lastActive = Measure.now()
                frame(c, bytes: readBuffer[0..<n], into: &inputs)
                if n < readBuffer.count || c.pausedUntil > 0 { return }
            case .wouldBlock:
                return
            case .closed, .failed:
                drop(c)
                return
            }
        }
    }

    /// Splits bytes into lines, refusing any line longer than the limit.
    private func frame(_ c: Connection, bytes: ArraySlice<UInt8>, into inputs: inout [GatewayInput]) {
        var start = bytes.startIndex
        while start < bytes.endIndex {
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                if !c.discarding { c.partial.append(contentsOf: bytes[start...]) }
                if c.partial.count > config.maxLineBytes {
                    c.partial.removeAll()
                    c.discarding = true
                    refuse(c, .tooLong)
                }
                return
            }
            if c.discarding {
                c.discarding = false
            } else {
                c.partial.append(contentsOf: bytes[start..<newline])
                if c.partial.count > config.maxLineBytes {
                    refuse(c, .tooLong)
                } else {
                    handleLine(c, c.partial, into: &inputs)
                }
            }
            c.partial.removeAll(keepingCapacity: c.partial.capacity <= 512)
            start = newline + 1
        }
    }

    private enum Refusal { case tooLong, unreadable, tooFast, badJSON }

    private func handleLine(_ c: Connection, _ raw: [UInt8], into inputs: inout [GatewayInput]) {
        var bytes = raw[...]
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        guard allowed(c) else { return }
        guard let text = String(validating: bytes, as: UTF8.self),
              !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) else {
            refuse(c, .unreadable)
            return
        }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return }
        let received = Measure.now()
        if c.kind == .agent {
            inputs.append(.agent(connection: c.id, line: trimmed, received: received))
            return
        }
        if c.mode == .unknown { c.mode = trimmed.hasPrefix("{") && jsonObject(trimmed)?["session"] != nil ? .json : .plain }
        if c.mode == .plain {
            if trimmed.hasPrefix("/id ") {
                let name = trimmed.dropFirst(4).trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty, name.count <= 64 else { refuse(c, .unreadable); return }
                c.customer = name
                inputs.append(.identify(connection: c.id, session: nil, customer: name, received: received))
            } else {
                inputs.append(.customer(connection: c.id, session: nil, customer: c.customer ?? "tcp-\(c.id)", text: trimmed, received: received))
            }
            return
        }
        guard let object = jsonObject(trimmed), let session = object["session"] as? String, !session.isEmpty else {
            refuse(c, .badJSON)
            return
        }
        let customer = (object["customer"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? session
        if let message = object["text"] as? String, !message.trimmingCharacters(in: .whitespaces).isEmpty {
            if message.utf8.count > config.maxLineBytes { refuse(c, .tooLong); return }
            inputs.append(.customer(connection: c.id, session: session, customer: customer, text: message, received: received))
        } else {
            inputs.append(.identify(connection: c.id, session: session, customer: customer, received: received))
        }
    }

    /// Stops reading a connection that is over its rate, until a token has refilled.
    private func pause(_ c: Connection, now: UInt64) {
        c.pausedUntil = now + UInt64(1e9 / config.linesPerSecond)
        paused.insert(c.id)
        updateEvents(c)
    }

    private func resumePaused(now: UInt64) {
        for id in paused {
            guard let c = connections[id] else { paused.remove(id); continue }
            if now >= c.pausedUntil {
                paused.remove(id)
                c.pausedUntil = 0
                updateEvents(c)
            }
        }
    }

    private func updateEvents(_ c: Connection) {
        guard c.slot >= 3 else { return }
        var events: Int16 = c.pausedUntil > 0 ? 0 : Int16(POLLIN)
        if c.pendingBytes > 0 { events |= Int16(POLLOUT) }
        pollfds[c.slot].events = events
    }

    /// Token bucket: refills `linesPerSecond`, holds at most `burst`.
    private func allowed(_ c: Connection) -> Bool {
        let now = Measure.now()
        c.tokens = min(config.burst, c.tokens + Double(now - c.lastRefill) / 1e9 * config.linesPerSecond)
        c.lastRefill = now
        if c.tokens >= 1 {
            c.tokens -= 1
            return true
        }
        if now - c.lastWarning > 1_000_000_000 {
            c.lastWarning = now
            refuse(c, .tooFast)
        }
        pause(c, now: now)
        return false
    }

    private func refuse(_ c: Connection, _ why: Refusal) {
        let line: String
        switch (c.kind, c.mode, why) {
        case (.agent, _, .tooLong): line = "ERR line too long (limit \(config.maxLineBytes) bytes)\n"
        case (.agent, _, .tooFast): line = "ERR too many lines; slow down\n"
        case (.agent, _, _): line = "ERR unreadable line: send UTF-8 text\n"
        case (_, .json, let why):
            let message = ["tooLong": "line too long (limit \(config.maxLineBytes) bytes)", "unreadable": "not valid UTF-8 text",
                           "tooFast": "too many messages; slow down", "badJSON": "each line must be a JSON object with a \"session\" key"]["\(why)"]!
            line = ServiceEngine.json(["error": message]) + "\n"
        case (_, _, .tooLong): line = "抱歉，您的消息太长了，请分几条发送。(message too long)\n\n"
        case (_, _, .tooFast): line = "您发送得太快了，请稍等片刻再发。(too many messages, slow down)\n\n"
        case (_, _, _): line = "抱歉，这条消息无法识别，请重新输入文字。(unreadable message)\n\n"
        }
        enqueue(c, Array(line.utf8))
    }

    private func jsonObject(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    // MARK: Writing

    private func post(_ outputs: [GatewayOutput]) {
        guard !outputs.isEmpty else { return }
        outboxLock.withLock { outbox.append(contentsOf: outputs) }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    private func drainWakePipe() {
        var scratch = [UInt8](repeating: 0, count: 256)
        while scratch.withUnsafeMutableBytes({ Glibc.read(wakeRead, $0.baseAddress, 256) }) > 0 {}
    }

    private func flushOutbox() {
        let batch = outboxLock.withLock { () -> [GatewayOutput] in
            defer { outbox.removeAll(keepingCapacity: true) }
            return outbox
        }
        let now = Measure.now()
        for output in batch {
            if let received = output.received { counters.recordReply(latencyMicroseconds: Double(now - received) / 1000) }
            guard let c = connections[output.connection] else { continue }
            enqueue(c, output.bytes)
            if output.close { c.closeAfterWrite = true; writePending(c) }
        }
    }

    private func enqueue(_ c: Connection, _ bytes: [UInt8]) {
        if c.pendingBytes + bytes.count > config.maxPendingWriteBytes {
            // A client that stops reading must not hold memory for everyone else.
            drop(c)
            return
        }
        c.out.append(contentsOf: bytes)
        writePending(c)
    }

    private func writePending(_ c: Connection) {
        while c.pendingBytes > 0 {
            let written = c.out.withUnsafeBytes { Socket.write(c.fd, UnsafeRawBufferPointer(rebasing: $0[c.outStart...])) }
            guard let n = written else { drop(c); return }
            if n == 0 { break }
            c.outStart += n
        }
        if c.pendingBytes == 0 {
            c.out.removeAll(keepingCapacity: c.out.capacity <= 4096)
            c.outStart = 0
            if c.closeAfterWrite { drop(c); return }
        }
        updateEvents(c)
    }

    private func drop(_ c: Connection) {
        guard connections.removeValue(forKey: c.id) != nil else { return }
        paused.remove(c.id)
        // Swap-remove from the poll set; the moved connection learns its new slot. The
        // current scan may then see the moved entry twice or miss it once: both are harmless
        // (a read that finds nothing, or a read on the next round).
        let last = pollfds.count - 1
        if c.slot >= 3 && c.slot <= last {
            pollfds[c.slot] = pollfds[last]
            owners[c.slot] = owners[last]
            owners[c.slot]?.slot = c.slot
            pollfds.removeLast()
            owners.removeLast()
        }
        c.slot = -1
        close(c.fd)
        countConnections()
        engine.submit([c.kind == .customer ? .customerGone(connection: c.id) : .agentGone(connection: c.id)])
    }

    private var customerCount = 0, agentCount = 0

    private func countConnections() {
        customerCount = 0
        agentCount = 0
        for c in connections.values { if c.kind == .customer { customerCount += 1 } else { agentCount += 1 } }
        counters.connections(customer: customerCount, agent: agentCount)
    }

    private func closeIdle(now: UInt64) {
        let limit = UInt64(config.idleTimeout * 1e9)
        for c in connections.values where now - c.lastActive > limit {
            let goodbye = c.kind == .agent ? "* BYE idle timeout\n" : (c.mode == .json ? ServiceEngine.json(["type": "goodbye", "reason": "idle timeout"]) + "\n" : "您已长时间未发送消息，连接已关闭，欢迎随时回来。(idle timeout)\n\n")
            c.closeAfterWrite = true
            enqueue(c, Array(goodbye.utf8))
            if connections[c.id] != nil && c.pendingBytes > 0 { drop(c) }
        }
    }

    /// Graceful stop: no new connections, finish the engine's work, send it, say goodbye.
    private func drainAndClose() {
        close(customerListener)
        close(agentListener)
        engine.drain()
        flushOutbox()
        for c in connections.values {
            let goodbye = c.kind == .agent ? "* BYE server shutting down\n" : (c.mode == .json ? ServiceEngine.json(["type": "goodbye", "reason": "server shutting down"]) + "\n" : "服务即将维护，连接将关闭，请稍后重新连接。(server shutting down)\n\n")
            c.out.append(contentsOf: Array(goodbye.utf8))
            c.closeAfterWrite = true
        }
        let deadline = Measure.now() + 2_000_000_000
        while !connections.isEmpty && Measure.now() < deadline {
            var pollfds = connections.values.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            _ = poll(&pollfds, nfds_t(pollfds.count), 100)
            for c in Array(connections.values) { writePending(c) }
        }
        for c in connections.values { close(c.fd) }
        connections.removeAll()
    }
}
