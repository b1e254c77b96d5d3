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
/// serial I/O queue for all sockets and one `ServiceEngine` thread for all conversation state.
///
/// Every socket has a Dispatch read source (epoll underneath): with thousands of mostly
/// idle connections, a `poll()` scan of every descriptor per wake-up was half of the I/O
/// thread's time at 15,000 messages/s. The I/O queue never touches a conversation: it
/// frames lines, enforces the limits, and passes work to the engine; replies come back as
/// blocks on the same queue. A slow or flooding client costs only its own buffer and its
/// own share of the engine, never another customer's reply.
public final class Gateway: @unchecked Sendable {
    private let config: GatewayConfiguration
    private let counters = GatewayCounters()
    private var engine: ServiceEngine!
    private var customerListener: Int32 = -1
    private var agentListener: Int32 = -1
    /// Everything below is touched only on `io`.
    private let io = DispatchQueue(label: "kefu.gateway.io")
    private var connections: [Int: Connection] = [:]
    private var listenerSources: [any DispatchSourceRead] = []
    private var idleTimer: (any DispatchSourceTimer)?
    private var nextID = 1
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private let stopped = DispatchSemaphore(value: 0)
    private var customerCount = 0, agentCount = 0

    /// Touched only on the serial `io` queue, which is what makes it safe to share with its sources.
    final class Connection: @unchecked Sendable {
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
        var closeAfterWrite = false
        var reader: (any DispatchSourceRead)?
        var writer: (any DispatchSourceWrite)?
        /// Over its rate: the reader is suspended, so TCP flow control holds the sender back.
        var paused = false
        var dropped = false
        /// Sources not yet cancelled; the descriptor is closed when the last one is.
        var liveSources = 0
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
        return (customer.bound, agent.bound)
    }

    /// Serves until `shutdown()`; then stops accepting, finishes replies in flight, commits,
    /// says goodbye to every connection and returns.
    public func run() {
        engine.start()
        io.sync {
            for (fd, kind) in [(customerListener, Connection.Kind.customer), (agentListener, .agent)] {
                let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: io)
                source.setEventHandler { [self] in acceptAll(fd, kind: kind) }
                source.resume()
                listenerSources.append(source)
            }
            let timer = DispatchSource.makeTimerSource(queue: io)
            timer.schedule(deadline: .now() + 1, repeating: 1)
            timer.setEventHandler { [self] in closeIdle(now: Measure.now()) }
            timer.resume()
            idleTimer = timer
        }
        stopped.wait()
        drainAndClose()
    }

    /// Asks `run()` to stop; safe from any thread (the signal handler calls it).
    public func shutdown() {
        stopped.signal()
    }

    /// Swaps in a new knowledge base for the next message; connections stay open.
    public func reload(_ kb: KnowledgeBase) {
        engine.submit([.reload(kb)])
    }

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
            // The handlers hold the connection (and it holds them) until `drop` cancels the
            // sources and lets go: Dispatch may run a cancel handler after the table forgets it.
            let reader = DispatchSource.makeReadSource(fileDescriptor: fd, queue: io)
            reader.setEventHandler { [self, c] in
                var inputs: [GatewayInput] = []
                readAvailable(c, into: &inputs)
                engine.submit(inputs)
            }
            reader.setCancelHandler { [self, c] in sourceCancelled(c) }
            c.reader = reader
            c.liveSources += 1
            reader.resume()
            countConnection(c, by: 1)
        }
    }

    private func readAvailable(_ c: Connection, into inputs: inout [GatewayInput]) {
        for _ in 0..<4 {  // bounded, so one busy client cannot starve the others
            guard !c.dropped, !c.paused else { return }
            let result = readBuffer.withUnsafeMutableBytes { Socket.read(c.fd, into: $0) }
            switch result {
            case .data(let n):
                c.lastActive = Measure.now()
                frame(c, bytes: readBuffer[0..<n], into: &inputs)
                if n < readBuffer.count { return }
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

    /// Stops reading a connection that is over its rate until a token has refilled; its
    /// unread bytes wait in the kernel and TCP flow control slows the sender.
    private func pause(_ c: Connection, now: UInt64) {
        guard !c.paused, !c.dropped, let reader = c.reader else { return }
        c.paused = true
        reader.suspend()
        io.asyncAfter(deadline: .now() + .nanoseconds(Int(1e9 / config.linesPerSecond))) { [weak self, weak c] in
            guard let c, c.paused else { return }
            c.paused = false
            c.reader?.resume()
            _ = self
        }
    }

    // MARK: Writing

    private func post(_ outputs: [GatewayOutput]) {
        guard !outputs.isEmpty else { return }
        io.async { [weak self] in self?.deliver(outputs) }
    }

    private func deliver(_ outputs: [GatewayOutput]) {
        let now = Measure.now()
        for output in outputs {
            if let received = output.received { counters.recordReply(latencyMicroseconds: Double(now - received) / 1000) }
            guard let c = connections[output.connection] else { continue }
            if output.close { c.closeAfterWrite = true }
            enqueue(c, output.bytes)
        }
    }

    private func enqueue(_ c: Connection, _ bytes: [UInt8]) {
        guard !c.dropped else { return }
        if c.pendingBytes + bytes.count > config.maxPendingWriteBytes {
            // A client that stops reading must not hold memory for everyone else.
            drop(c)
            return
        }
        c.out.append(contentsOf: bytes)
        writePending(c)
    }

    private func writePending(_ c: Connection) {
        guard !c.dropped else { return }
        while c.pendingBytes > 0 {
            let written = c.out.withUnsafeBytes { Socket.write(c.fd, UnsafeRawBufferPointer(rebasing: $0[c.outStart...])) }
            guard let n = written else { drop(c); return }
            if n == 0 { break }
            c.outStart += n
        }
        if c.pendingBytes == 0 {
            c.out.removeAll(keepingCapacity: c.out.capacity <= 4096)
            c.outStart = 0
            if let writer = c.writer { c.writer = nil; writer.cancel() }
            if c.closeAfterWrite { drop(c) }
        } else if c.writer == nil {
            // The socket is full: wait until it can take more.
            let writer = DispatchSource.makeWriteSource(fileDescriptor: c.fd, queue: io)
            writer.setEventHandler { [self, c] in writePending(c) }
            writer.setCancelHandler { [self, c] in sourceCancelled(c) }
            c.writer = writer
            c.liveSources += 1
            writer.resume()
        }
    }

    private func drop(_ c: Connection) {
        guard !c.dropped else { return }
        c.dropped = true
        connections.removeValue(forKey: c.id)
        if c.paused { c.paused = false; c.reader?.resume() }  // a suspended source never runs its cancel handler
        c.reader?.cancel()
        c.writer?.cancel()
        c.reader = nil
        c.writer = nil
        countConnection(c, by: -1)
        engine.submit([c.kind == .customer ? .customerGone(connection: c.id) : .agentGone(connection: c.id)])
    }

    /// Closes the descriptor once every source watching it is cancelled, as Dispatch requires.
    private func sourceCancelled(_ c: Connection) {
        c.liveSources -= 1
        if c.liveSources == 0 && c.dropped { close(c.fd) }
    }

    private func countConnection(_ c: Connection, by change: Int) {
        if c.kind == .customer { customerCount += change } else { agentCount += change }
        counters.connections(customer: customerCount, agent: agentCount)
    }

    private func closeIdle(now: UInt64) {
        let limit = UInt64(config.idleTimeout * 1e9)
        for c in Array(connections.values) where now - c.lastActive > limit {
            let goodbye = c.kind == .agent ? "* BYE idle timeout\n" : (c.mode == .json ? ServiceEngine.json(["type": "goodbye", "reason": "idle timeout"]) + "\n" : "您已长时间未发送消息，连接已关闭，欢迎随时回来。(idle timeout)\n\n")
            c.closeAfterWrite = true
            enqueue(c, Array(goodbye.utf8))
        }
    }

    /// Graceful stop: no new connections, finish the engine's work, send it, say goodbye.
    private func drainAndClose() {
        io.sync {
            for source in listenerSources { source.cancel() }
            listenerSources.removeAll()
            idleTimer?.cancel()
            close(customerListener)
            close(agentListener)
        }
        engine.drain()
        io.sync {
            for c in Array(connections.values) {
                let goodbye = c.kind == .agent ? "* BYE server shutting down\n" : (c.mode == .json ? ServiceEngine.json(["type": "goodbye", "reason": "server shutting down"]) + "\n" : "服务即将维护，连接将关闭，请稍后重新连接。(server shutting down)\n\n")
                c.closeAfterWrite = true
                enqueue(c, Array(goodbye.utf8))
            }
        }
        let deadline = Measure.now() + 2_000_000_000
        while Measure.now() < deadline && io.sync(execute: { !connections.isEmpty }) { usleep(20_000) }
        io.sync { for c in Array(connections.values) { drop(c) } }
    }
}
