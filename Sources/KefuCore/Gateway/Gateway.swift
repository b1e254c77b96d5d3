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
    /// Customer connections; the excess is told to retry later. Never more than the descriptor
    /// limit allows (see `ConnectionBudget`).
    public var maxConnections = 4096
    /// Connections for agents beyond `maxConnections`, which customers never take, so a crowd
    /// of customers cannot lock the agents out.
    public var agentSlots = 32
    /// A line must be complete this long after its first byte, or the connection is told and
    /// closed: a client trickling bytes would otherwise hold its connection for ever, since
    /// every byte counts as activity.
    public var lineTimeout: TimeInterval = 30
    /// A connection silent this long is said goodbye to and closed.
    public var idleTimeout: TimeInterval = 600
    /// Per-connection rate limit (token bucket): lines per second, and the burst allowed.
    public var linesPerSecond: Double = 20
    public var burst: Double = 40
    /// Output waiting for a client that does not read; past it the client is disconnected.
    public var maxPendingWriteBytes = 1 << 20
    /// The kernel's send buffer per connection. Fixed rather than auto-tuned: the kernel
    /// would otherwise let a client that never reads hold megabytes of replies before
    /// `maxPendingWriteBytes` ever applies. Replies are short; this is plenty for any reader.
    public var socketSendBufferBytes: Int32 = 64 * 1024
    /// How failed agent logins are slowed and locked out. Agents log in with the accounts
    /// in the data folder's `agents` file.
    public var login = LoginPolicy()
    /// The secret a JSON Lines connection sends first (`{"auth": …}`) to speak for the
    /// customers it names; nil: no connection can, and every name is scoped to its connection.
    public var integrationToken: String?
    /// How many conversations stay in memory, how long an idle one lasts, sessions per connection.
    public var conversations = ConversationLimits()
    /// The HTTP and WebSocket listener (docs/HTTP.md); nil: none.
    public var httpAddress: Socket.Address?
    /// The key of browsers' conversation tokens (the data folder's `web-secret`); nil: a new
    /// one for this run, so tokens die with the process.
    public var webSecret: String?
    var httpLimits = HTTPLimits()
    /// Where the server's notices go (stderr unless a test collects them).
    public var log: any DiagnosticLog = StandardErrorLog()
    /// Where events are posted as webhooks (`--webhook`, docs/HTTP.md): handoffs, agents
    /// joining and replying, resolved cases, ratings, each to every URL, from a durable outbox.
    public var webhooks: [WebhookTarget] = []
    /// The key of the webhooks' signatures (`$KEFU_WEBHOOK_SECRET` or the data folder's
    /// `webhook-secret`); nil: a new one for this run, which no receiver knows.
    public var webhookSecret: String?
    var webhookPolicy = WebhookSender.Policy()
    /// Acknowledged bytes in `webhooks.journal` that make it worth rewriting.
    var webhookCompactionBytes = 64 * 1024

    public init() {}
}

/// The line-protocol TCP gateway: customers and agents on two listeners, served by one
/// event-loop thread for all sockets and one `ServiceEngine` thread for all conversation state.
///
/// The loop waits on `epoll` (see `Epoll` for why not Dispatch sources): every descriptor is
/// registered once, and one wake-up serves every connection that is ready, so the lines of a
/// busy moment reach the engine as one batch. The loop never touches a conversation: it
/// frames lines, enforces the limits, and passes work to the engine; replies come back as
/// tasks on the loop. A slow or flooding client costs only its own buffer and its own share
/// of the engine, never another customer's reply.
public final class Gateway: @unchecked Sendable {
    let config: GatewayConfiguration
    var log: any DiagnosticLog { config.log }
    let counters = GatewayCounters()
    private(set) var engine: ServiceEngine!
    /// The webhooks' durable queue and its delivery threads, when `--webhook` is given.
    let webhookOutbox: WebhookOutbox?
    private let webhookSender: WebhookSender?
    private var customerListener: Int32 = -1
    private var agentListener: Int32 = -1
    private var httpListener: Int32 = -1
    let poller: Epoll
    /// The web conversations' items and subscribers (loop thread).
    let webFeeds: WebFeeds
    let webTokens: WebConversationTokens
    /// `GET /v1/agent/canned`: the knowledge base's canned replies as JSON (loop thread).
    var cannedReplies: [UInt8] = []
    /// The standard phrases new line connections word their refusals with (loop thread).
    private var linePhrases: [String: String] = [:]
    /// Other threads hand work to the loop here and wake it through a pipe.
    private let tasksLock = NSLock()
    private var tasks: [() -> Void] = []
    private var wakePending = false
    private var wakeRead: Int32 = -1, wakeWrite: Int32 = -1
    private let stopped = DispatchSemaphore(value: 0)
    private let loopDone = DispatchSemaphore(value: 0)
    /// Everything below is touched only on the loop thread (checked in debug builds).
    private var loopThread = ThreadOwner("gateway loop")
    private var loopRunning = true
    private(set) var connections: [Int: Connection] = [:]
    private var pausedUntil: [Int: UInt64] = [:]
    private var nextIdleCheck: UInt64 = 0
    private var nextID = Gateway.firstConnectionToken
    private var acceptComplaints = OncePerMinute()
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var customerCount = 0, agentCount = 0
    /// How many customers and agents may be connected, from the descriptor limit.
    public let budget: ConnectionBudget
    /// A descriptor held in reserve: when the process runs out, it is closed for a moment to
    /// accept the waiting client, tell it why it is refused, and close it again.
    private var spareDescriptor: Int32 = -1
    /// Listeners not watched until this time (monotonic ns), after `accept` ran out of
    /// descriptors: watching them would wake the loop again at once, for ever.
    private var listenersPausedUntil: UInt64 = 0

    /// Epoll tokens: the wake pipe, the two listeners, then connection ids.
    private static let wakeToken: UInt64 = 0, customerListenerToken: UInt64 = 1, agentListenerToken: UInt64 = 2, httpListenerToken: UInt64 = 3
    private static let firstConnectionToken = 16

    /// Touched only on the loop thread.
    final class Connection {
        /// `http`: the HTTP listener's; a customer for the connection limits, whatever it
        /// becomes (a request, an event stream, a customer's or an agent's WebSocket).
        enum Kind { case customer, agent, http }
        let id: Int
        let fd: Int32
        let kind: Kind
        /// The line protocol's reading and wording (customer and agent connections).
        var codec: LineCodec
        /// When the line being received got its first byte (monotonic ns); 0 between lines.
        var lineStarted: UInt64 = 0
        var partial: [UInt8] = []
        var discarding = false
        var out: [UInt8] = []
        var outStart = 0
        var lastActive: UInt64
        var tokens: Double
        var lastRefill: UInt64
        var lastWarning: UInt64 = 0
        var closeAfterWrite = false
        /// Over its rate: not read for a moment, so TCP flow control holds the sender back.
        var paused = false
        var dropped = false
        /// What epoll watches the descriptor for now.
        var interest: Epoll.Interest = .read
        var pendingBytes: Int { out.count - outStart }
        /// HTTP: the request parser and what the connection has become.
        var web: WebConnection?
        /// Counted in the agents' share of the connection limit (an agent's console socket).
        var countedAsAgent = false

        init(id: Int, fd: Int32, kind: Kind, codec: LineCodec, now: UInt64, burst: Double) {
            self.id = id
            self.fd = fd
            self.kind = kind
            self.codec = codec
            lastActive = now
            lastRefill = now
            tokens = burst
        }
    }

    public init(kb: KnowledgeBase, desk: ServiceDesk, configuration: GatewayConfiguration) throws {
        config = configuration
        if configuration.webhooks.isEmpty {
            webhookOutbox = nil
            webhookSender = nil
        } else {
            let outbox = try WebhookOutbox(folder: desk.folder, urls: configuration.webhooks.map(\.url),
                                           compactionBytes: configuration.webhookCompactionBytes)
            for notice in outbox.notices { configuration.log.note("kefu serve: \(notice)") }
            for (url, waiting) in outbox.waiting().sorted(by: { $0.key < $1.key }) {
                let note = outbox.urls.contains(url) ? "are sent first" : "wait until a server is started with --webhook \(url) again"
                configuration.log.note("kefu serve: \(waiting.count) webhook deliveries to \(url) from before \(note)")
            }
            webhookOutbox = outbox
            webhookSender = WebhookSender(outbox: outbox, targets: configuration.webhooks,
                                          secret: configuration.webhookSecret ?? SecureRandom.hex(bytes: 32), policy: configuration.webhookPolicy,
                                          log: configuration.log)
        }
        webTokens = WebConversationTokens(secret: configuration.webSecret ?? SecureRandom.hex(bytes: 32))
        webFeeds = WebFeeds(maxFeeds: configuration.conversations.maxLive)
        cannedReplies = Self.cannedJSON(kb)
        linePhrases = kb.filledPhrases
        budget = ConnectionBudget(maxConnections: configuration.maxConnections, agentSlots: configuration.agentSlots,
                                  descriptors: ConnectionBudget.descriptorLimit())
        spareDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
        poller = try Epoll()
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw SystemError(call: "pipe", path: "gateway wake-up", code: errno) }
        for fd in ends {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        (wakeRead, wakeWrite) = (ends[0], ends[1])
        try poller.register(wakeRead, token: Self.wakeToken, for: .read)
        // Events go through the engine's group commit: queued, then written a batch at a time.
        let desk = desk.withGroupCommit()
        engine = ServiceEngine(dialogue: Dialogue(kb: kb, desk: desk), desk: desk, login: configuration.login,
                               limits: configuration.conversations, counters: counters, webhooks: webhookOutbox,
                               log: configuration.log) { [weak self] outputs in self?.post(outputs) }
    }

    /// Opens both listeners; returns the addresses actually bound (port 0 → a free port).
    /// The HTTP listener, when configured, is opened too (its address in `httpBound`).
    public func bind() throws -> (customer: Socket.Address, agent: Socket.Address) {
        let customer = try Socket.listen(config.customerAddress)
        let agent = try Socket.listen(config.agentAddress)
        customerListener = customer.fd
        agentListener = agent.fd
        try poller.register(customer.fd, token: Self.customerListenerToken, for: .read)
        try poller.register(agent.fd, token: Self.agentListenerToken, for: .read)
        if let address = config.httpAddress {
            let http = try Socket.listen(address)
            httpListener = http.fd
            httpBound = http.bound
            try poller.register(http.fd, token: Self.httpListenerToken, for: .read)
        }
        return (customer.bound, agent.bound)
    }

    /// The HTTP listener's address once bound.
    public private(set) var httpBound: Socket.Address?

    /// Serves until `shutdown()`; then stops accepting, finishes replies in flight, commits,
    /// says goodbye to every connection and returns.
    public func run() {
        engine.start()
        webhookSender?.start()
        let thread = Thread { [self] in loop() }
        thread.name = "kefu-io"
        thread.start()
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
        let canned = Self.cannedJSON(kb), phrases = kb.filledPhrases
        perform { [weak self] in
            self?.cannedReplies = canned
            self?.linePhrases = phrases
        }
    }

    /// `{"canned": [{"title", "text", "language"}]}`: not secret (the centre's standard
    /// wording), so served without a login.
    static func cannedJSON(_ kb: KnowledgeBase) -> [UInt8] {
        Array(ServiceEngine.json(["canned": kb.canned.map { ["title": $0.title, "text": $0.text, "language": $0.language] }]).utf8)
    }

    // MARK: The loop

    private func loop() {
        loopThread.claim()
        var events: [Epoll.Event] = []
        var inputs: [GatewayInput] = []
        nextIdleCheck = Measure.now() + 1_000_000_000
        while loopRunning {
            poller.wait(timeoutMilliseconds: millisecondsToNextTimer(), into: &events)
            for event in events {
                switch event.token {
                case Self.wakeToken: runTasks()
                case Self.customerListenerToken: acceptAll(customerListener, kind: .customer)
                case Self.agentListenerToken: acceptAll(agentListener, kind: .agent)
                case Self.httpListenerToken: acceptAll(httpListener, kind: .http)
                default:
                    guard let c = connections[Int(event.token)] else { continue }  // dropped earlier in this batch
                    if event.failed && c.paused {
                        // Hang-up is reported even while paused: read what is left and close.
                        c.paused = false
                        pausedUntil[c.id] = nil
                    }
                    if event.writable { writePending(c) }
                    if event.readable || event.failed { readAvailable(c, into: &inputs) }
                }
            }
            // One hand-over per wake-up: the engine answers the batch together.
            engine.submit(inputs)
            inputs.removeAll(keepingCapacity: true)
            runTimers(now: Measure.now())
        }
        loopDone.signal()
    }

    /// Runs `task` on the loop thread.
    private func perform(_ task: @escaping () -> Void) {
        let wake = tasksLock.withLock { () -> Bool in
            tasks.append(task)
            defer { wakePending = true }
            return !wakePending
        }
        if wake {
            var byte: UInt8 = 1
            _ = Glibc.write(wakeWrite, &byte, 1)
        }
    }

    /// Runs `task` on the loop thread and waits for it.
    private func performAndWait<T>(_ task: @escaping () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: T?
        perform {
            result = task()
            done.signal()
        }
        done.wait()
        return result!
    }

    private func runTasks() {
        while readBuffer.withUnsafeMutableBytes({ Glibc.read(wakeRead, $0.baseAddress, $0.count) }) > 0 {}
        let ready = tasksLock.withLock { () -> [() -> Void] in
            defer { tasks.removeAll(keepingCapacity: true); wakePending = false }
            return tasks
        }
        for task in ready { task() }
    }

    private func millisecondsToNextTimer() -> Int32 {
        let now = Measure.now()
        var next = pausedUntil.values.reduce(nextIdleCheck, min)
        if listenersPausedUntil > 0 { next = min(next, listenersPausedUntil) }
        return next <= now ? 0 : Int32(min(1000, (next - now) / 1_000_000 + 1))
    }

    private func runTimers(now: UInt64) {
        if listenersPausedUntil > 0 && now >= listenersPausedUntil {
            listenersPausedUntil = 0
            try? poller.change(customerListener, token: Self.customerListenerToken, to: .read)
            try? poller.change(agentListener, token: Self.agentListenerToken, to: .read)
            if httpListener >= 0 { try? poller.change(httpListener, token: Self.httpListenerToken, to: .read) }
        }
        for (id, until) in pausedUntil where until <= now {
            pausedUntil[id] = nil
            guard let c = connections[id], c.paused else { continue }
            c.paused = false
            updateInterest(c)
        }
        if now >= nextIdleCheck {
            nextIdleCheck = now + 1_000_000_000
            closeIdle(now: now)
            keepWebStreamsAlive(now: now)
            engine.submit([.tick])
        }
    }

    /// Watches the descriptor for reading unless paused, and for writing while output waits.
    func updateInterest(_ c: Connection) {
        guard !c.dropped else { return }
        var wanted: Epoll.Interest = c.paused ? [] : .read
        if c.pendingBytes > 0 { wanted.insert(.write) }
        guard wanted != c.interest else { return }
        c.interest = wanted
        do { try poller.change(c.fd, token: UInt64(c.id), to: wanted) } catch { drop(c) }
    }

    // MARK: Accepting and reading

    private func acceptAll(_ listener: Int32, kind: Connection.Kind) {
        while true {
            let accepted: Int32?
            do {
                accepted = try Socket.accept(listener)
            } catch let error as SystemError {
                outOfDescriptors(listener, kind: kind, error: error)
                return
            } catch { return }
            guard let fd = accepted else { return }
            // An HTTP connection may become an agent's console: when the customers' share is
            // full it may still take an agent slot, and is refused at its first request unless
            // that opens the agent socket (or the console's page).
            var agentOnly = false
            if !budget.admits(kind == .agent, customers: customerCount, agents: agentCount) {
                guard kind == .http, budget.admits(true, customers: customerCount, agents: agentCount) else {
                    refuseBusy(fd, kind: kind, why: nil)
                    continue
                }
                agentOnly = true
            }
            var sendBuffer = config.socketSendBufferBytes
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sendBuffer, socklen_t(MemoryLayout<Int32>.size))
            let codec = LineCodec(role: kind == .agent ? .agent : .customer, maxLineBytes: config.maxLineBytes,
                                  integrationToken: config.integrationToken, phrases: linePhrases)
            let c = Connection(id: nextID, fd: fd, kind: kind, codec: codec, now: Measure.now(), burst: config.burst)
            if kind == .http {
                c.web = WebConnection(limits: config.httpLimits)
                c.countedAsAgent = agentOnly
            }
            do {
                try poller.register(fd, token: UInt64(c.id), for: .read)
            } catch {
                log.note("kefu serve: \(error)")
                close(fd)
                continue
            }
            nextID += 1
            connections[c.id] = c
            countConnection(c, by: 1)
            if kind == .agent { engine.submit([.agentConnected(connection: c.id, address: Socket.peerHost(fd))]) }
        }
    }

    /// `accept` failed (out of descriptors, or the kernel out of memory): the waiting client is
    /// accepted on the spare descriptor and told, and the listeners rest for a moment instead
    /// of waking the loop again at once.
    private func outOfDescriptors(_ listener: Int32, kind: Connection.Kind, error: SystemError) {
        let now = Measure.now()
        if error.code == EMFILE || error.code == ENFILE, spareDescriptor >= 0 {
            close(spareDescriptor)
            if let fd = try? Socket.accept(listener) { refuseBusy(fd, kind: kind, why: "out of file descriptors") }
            spareDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        counters.countAcceptFailure()
        if acceptComplaints.allows(at: Date()) {
            log.note("kefu serve: cannot accept connections: \(error); refusing new clients for now (raise `ulimit -n` or lower --max-connections)")
        }
        listenersPausedUntil = now + 100_000_000
        try? poller.change(customerListener, token: Self.customerListenerToken, to: [])
        try? poller.change(agentListener, token: Self.agentListenerToken, to: [])
        if httpListener >= 0 { try? poller.change(httpListener, token: Self.httpListenerToken, to: []) }
    }

    /// Tells a client the server cannot take it now, and closes it.
    private func refuseBusy(_ fd: Int32, kind: Connection.Kind, why: String?) {
        let reason = why.map { "server busy: \($0), retry later" } ?? "server busy, retry later"
        let busy: [UInt8] = switch kind {
        case .customer: Array("抱歉，当前咨询人数较多，请稍后再试。(\(reason))\n\n".utf8)
        case .agent: Array("ERR \(reason)\n".utf8)
        case .http: HTTPResponse.error(503, reason).serialized(keepAlive: false)
        }
        _ = busy.withUnsafeBytes { Socket.write(fd, $0) }
        close(fd)
    }

    private func readAvailable(_ c: Connection, into inputs: inout [GatewayInput]) {
        for _ in 0..<4 {  // bounded, so one busy client cannot starve the others
            guard !c.dropped, !c.paused else { return }
            let result = readBuffer.withUnsafeMutableBytes { Socket.read(c.fd, into: $0) }
            switch result {
            case .data(let n):
                c.lastActive = Measure.now()
                if c.kind == .http {
                    webBytes(c, readBuffer[0..<n], into: &inputs)
                } else {
                    frame(c, bytes: readBuffer[0..<n], into: &inputs)
                }
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
                // A line in progress: its deadline runs from its first byte.
                if c.lineStarted == 0 { c.lineStarted = Measure.now() }
                if !c.discarding { c.partial.append(contentsOf: bytes[start...]) }
                if c.partial.count > config.maxLineBytes {
                    c.partial.removeAll()
                    c.discarding = true
                    refuse(c, .tooLong)
                }
                return
            }
            c.lineStarted = 0
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
            if c.paused, let last = bytes[start...].lastIndex(of: 0x0A) {
                // Over its rate: the rest of what was read is over it too and would only be
                // refused line by line, which a flooding client could make cost milliseconds
                // of everyone's time. Drop the complete lines at once; keep a line in progress.
                start = last + 1
            }
        }
    }

    private func handleLine(_ c: Connection, _ raw: [UInt8], into inputs: inout [GatewayInput]) {
        guard allowed(c) else { return }
        switch c.codec.read(raw[...], connection: c.id, received: Measure.now()) {
        case .input(let input):
            inputs.append(input)
        case .refused(let why):
            refuse(c, why)
        case .authenticated:
            enqueue(c, Array(LineCodec.authenticatedReply.utf8))
        case .authenticationFailed(let reply):
            log.note("kefu serve: failed integration auth on customer connection \(c.id); closed")
            c.closeAfterWrite = true
            enqueue(c, Array(reply.utf8))
        case .nothing:
            break
        }
    }

    /// Token bucket: refills `linesPerSecond`, holds at most `burst`.
    func allowed(_ c: Connection, warn: Bool = true) -> Bool {
        let now = Measure.now()
        c.tokens = min(config.burst, c.tokens + Double(now - c.lastRefill) / 1e9 * config.linesPerSecond)
        c.lastRefill = now
        if c.tokens >= 1 {
            c.tokens -= 1
            return true
        }
        if warn && now - c.lastWarning > 1_000_000_000 {
            c.lastWarning = now
            refuse(c, .tooFast)
        }
        pause(c, now: now)
        return false
    }

    private func refuse(_ c: Connection, _ why: LineCodec.Refusal) {
        enqueue(c, Array(c.codec.refusal(why).utf8))
    }

    /// Stops reading a connection that is over its rate until a token has refilled; its
    /// unread bytes wait in the kernel and TCP flow control slows the sender.
    private func pause(_ c: Connection, now: UInt64) {
        guard !c.paused, !c.dropped else { return }
        c.paused = true
        pausedUntil[c.id] = now + UInt64(1e9 / config.linesPerSecond)
        updateInterest(c)
    }

    // MARK: Writing

    private func post(_ outputs: [GatewayOutput]) {
        guard !outputs.isEmpty else { return }
        perform { [weak self] in self?.deliver(outputs) }
    }

    private func deliver(_ outputs: [GatewayOutput]) {
        loopThread.check()
        let now = Measure.now()
        var answered = WebAnswers()
        for output in outputs {
            if let received = output.received { counters.recordReply(latencyMicroseconds: Double(now - received) / 1000) }
            if let key = output.feed {
                publish(output, to: key, now: now, answered: &answered)
                continue
            }
            guard let c = connections[output.connection] else { continue }
            if c.web?.isSocket == true {
                sendToSocket(c, output.bytes, close: output.close)
                continue
            }
            if output.close { c.closeAfterWrite = true }
            enqueue(c, output.bytes)
        }
        answer(answered)
    }

    func enqueue(_ c: Connection, _ bytes: [UInt8]) {
        loopThread.check()
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
            // Small buffers are kept for the next reply; a connection that goes idle after a
            // large one (a handshake, a history) gives it back.
            c.out.removeAll(keepingCapacity: c.out.capacity <= 256)
            c.outStart = 0
            if c.closeAfterWrite { drop(c); return }
        }
        // A full socket is watched for room; an emptied one no longer is.
        updateInterest(c)
    }

    func drop(_ c: Connection) {
        loopThread.check()
        guard !c.dropped else { return }
        c.dropped = true
        connections.removeValue(forKey: c.id)
        pausedUntil[c.id] = nil
        poller.unregister(c.fd)
        close(c.fd)
        countConnection(c, by: -1)
        if let key = c.web?.subscription { webFeeds.unsubscribe(c.id, from: key) }
        let agent = c.kind == .agent || c.web?.isAgentSocket == true
        engine.submit([agent ? .agentGone(connection: c.id) : .customerGone(connection: c.id)])
    }

    /// An HTTP connection that became an agent's socket moves to the agents' share, so the
    /// customers' share it leaves is free for customers again.
    func countAsAgent(_ c: Connection) {
        guard !c.countedAsAgent else { return }
        countConnection(c, by: -1)
        c.countedAsAgent = true
        countConnection(c, by: 1)
    }

    private func countConnection(_ c: Connection, by change: Int) {
        if c.kind == .agent || c.countedAsAgent { agentCount += change } else { customerCount += change }
        counters.connections(customer: customerCount, agent: agentCount)
    }

    private func closeIdle(now: UInt64) {
        let limit = UInt64(config.idleTimeout * 1e9)
        let lineLimit = UInt64(config.lineTimeout * 1e9)
        for c in Array(connections.values) where c.lineStarted != 0 && now - c.lineStarted > lineLimit && !c.closeAfterWrite {
            let seconds = Int(config.lineTimeout.rounded())
            if c.kind == .http {
                sayGoodbye(c, status: 408, reason: "request not finished within \(seconds) seconds")
                continue
            }
            c.closeAfterWrite = true
            enqueue(c, Array(c.codec.goodbye(.lineTimeout(seconds: seconds)).utf8))
        }
        for c in Array(connections.values) where now - c.lastActive > limit && !c.closeAfterWrite {
            if c.kind == .http {
                sayGoodbye(c, status: nil, reason: "idle timeout")
                continue
            }
            c.closeAfterWrite = true
            enqueue(c, Array(c.codec.goodbye(.idle).utf8))
        }
    }

    /// Graceful stop: no new connections, finish the engine's work, send it, say goodbye.
    private func drainAndClose() {
        performAndWait { [self] in
            for listener in [customerListener, agentListener, httpListener] where listener >= 0 {
                poller.unregister(listener)
                close(listener)
            }
        }
        engine.drain()
        webhookSender?.stop()
        performAndWait { [self] in
            for c in Array(connections.values) {
                if c.kind == .http {
                    sayGoodbye(c, status: 503, reason: "server shutting down")
                    continue
                }
                c.closeAfterWrite = true
                enqueue(c, Array(c.codec.goodbye(.shuttingDown).utf8))
            }
        }
        let deadline = Measure.now() + 2_000_000_000
        while Measure.now() < deadline && performAndWait({ [self] in !connections.isEmpty }) { usleep(20_000) }
        performAndWait { [self] in
            for c in Array(connections.values) { drop(c) }
            loopRunning = false
        }
        loopDone.wait()
        close(wakeRead)
        close(wakeWrite)
    }
}
