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
    let counters = GatewayCounters()
    private(set) var engine: ServiceEngine!
    private var customerListener: Int32 = -1
    private var agentListener: Int32 = -1
    private var httpListener: Int32 = -1
    let poller: Epoll
    /// The web conversations' items and subscribers (loop thread).
    let webFeeds = WebFeeds()
    let webTokens: WebConversationTokens
    /// `GET /v1/agent/canned`: the knowledge base's canned replies as JSON (loop thread).
    var cannedReplies: [UInt8] = []
    /// Other threads hand work to the loop here and wake it through a pipe.
    private let tasksLock = NSLock()
    private var tasks: [() -> Void] = []
    private var wakePending = false
    private var wakeRead: Int32 = -1, wakeWrite: Int32 = -1
    private let stopped = DispatchSemaphore(value: 0)
    private let loopDone = DispatchSemaphore(value: 0)
    /// Everything below is touched only on the loop thread.
    private var loopRunning = true
    private(set) var connections: [Int: Connection] = [:]
    private var pausedUntil: [Int: UInt64] = [:]
    private var nextIdleCheck: UInt64 = 0
    private var nextID = Gateway.firstConnectionToken
    private var lastAcceptComplaint: UInt64 = 0
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
        enum Mode { case unknown, plain, json }
        let id: Int
        let fd: Int32
        let kind: Kind
        var mode = Mode.unknown
        /// When the line being received got its first byte (monotonic ns); 0 between lines.
        var lineStarted: UInt64 = 0
        /// Plain mode: the connection's customer is settled (by `/id`, `/resume` or a first
        /// message), so `/id` and `/resume` are refused from now on.
        var identified = false
        /// JSON Lines mode: authenticated as the integration, so the customers it names are trusted.
        var integration = false
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

        init(id: Int, fd: Int32, kind: Kind, now: UInt64, burst: Double) {
            self.id = id
            self.fd = fd
            self.kind = kind
            lastActive = now
            lastRefill = now
            tokens = burst
        }
    }

    public init(kb: KnowledgeBase, desk: ServiceDesk, configuration: GatewayConfiguration) throws {
        config = configuration
        webTokens = WebConversationTokens(secret: configuration.webSecret ?? SecureRandom.hex(bytes: 32))
        cannedReplies = Self.cannedJSON(kb)
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
                               limits: configuration.conversations, counters: counters) { [weak self] outputs in self?.post(outputs) }
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
        let canned = Self.cannedJSON(kb)
        perform { [weak self] in self?.cannedReplies = canned }
    }

    /// `{"canned": [{"title", "text", "language"}]}`: not secret (the centre's standard
    /// wording), so served without a login.
    static func cannedJSON(_ kb: KnowledgeBase) -> [UInt8] {
        Array(ServiceEngine.json(["canned": kb.canned.map { ["title": $0.title, "text": $0.text, "language": $0.language] }]).utf8)
    }

    // MARK: The loop

    private func loop() {
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
            if !budget.admits(kind == .agent, customers: customerCount, agents: agentCount) {
                refuseBusy(fd, kind: kind, why: nil)
                continue
            }
            var sendBuffer = config.socketSendBufferBytes
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sendBuffer, socklen_t(MemoryLayout<Int32>.size))
            let c = Connection(id: nextID, fd: fd, kind: kind, now: Measure.now(), burst: config.burst)
            if kind == .http { c.web = WebConnection(limits: config.httpLimits) }
            do {
                try poller.register(fd, token: UInt64(c.id), for: .read)
            } catch {
                FileHandle.standardError.write(Data("kefu serve: \(error)\n".utf8))
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
        if now - lastAcceptComplaint > 60_000_000_000 || lastAcceptComplaint == 0 {
            lastAcceptComplaint = now
            FileHandle.standardError.write(Data("kefu serve: cannot accept connections: \(error); refusing new clients for now (raise `ulimit -n` or lower --max-connections)\n".utf8))
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

    private enum Refusal {
        case tooLong, unreadable, tooFast, badJSON
        /// Plain `/id` or `/resume` after the connection's customer is settled.
        case identityNotFirst
        /// A `/id` label or a JSON `customer` or `session` that cannot be an id.
        case badID(field: String, CustomerID.Problem)
        /// JSON: `customer` or `session` is not a string.
        case notText(field: String)
        /// JSON: `{"auth": …}` after the first line.
        case authNotFirst
    }

    private func handleLine(_ c: Connection, _ raw: [UInt8], into inputs: inout [GatewayInput]) {
        var bytes = raw[...]
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        guard allowed(c) else { return }
        guard let text = String(validating: bytes, as: UTF8.self),
              !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) else {
            refuse(c, .unreadable)
            return
        }
        let trimmed = text.trimmingSpaces
        if trimmed.isEmpty { return }
        let received = Measure.now()
        if c.kind == .agent {
            inputs.append(.agent(connection: c.id, line: trimmed, received: received))
            return
        }
        let first = c.mode == .unknown
        if first {
            let opening = trimmed.hasPrefix("{") ? jsonObject(trimmed) : nil
            c.mode = opening?["session"] != nil || opening?["auth"] != nil ? .json : .plain
        }
        if c.mode == .plain {
            plainLine(c, trimmed, received: received, into: &inputs)
        } else {
            jsonLine(c, trimmed, first: first, received: received, into: &inputs)
        }
    }

    /// Plain mode: a message, or as the first line `/id LABEL` or `/resume CODE`.
    private func plainLine(_ c: Connection, _ line: String, received: UInt64, into inputs: inout [GatewayInput]) {
        func argument(of command: String) -> String? {
            guard line == command || line.hasPrefix(command + " ") || line.hasPrefix(command + "\t") else { return nil }
            return line.dropFirst(command.count).trimmingCharacters(in: .whitespaces)
        }
        if let label = argument(of: "/id") {
            guard !c.identified else { refuse(c, .identityNotFirst); return }
            // A refused label settles nothing: the client may send a corrected one.
            if let problem = CustomerID.problem(label) { refuse(c, .badID(field: "id", problem)); return }
            c.identified = true
            inputs.append(.identify(connection: c.id, speaker: .plain(label: label), received: received))
        } else if let code = argument(of: "/resume") {
            guard !c.identified else { refuse(c, .identityNotFirst); return }
            // One guess per connection: a wrong code settles the connection as a new customer.
            c.identified = true
            inputs.append(.resume(connection: c.id, speaker: .plain(label: nil), code: code, received: received))
        } else {
            c.identified = true
            inputs.append(.customer(connection: c.id, speaker: .plain(label: nil), text: line, received: received))
        }
    }

    /// JSON Lines mode: `{"auth": TOKEN}` as the first line, then session objects.
    private func jsonLine(_ c: Connection, _ line: String, first: Bool, received: UInt64, into inputs: inout [GatewayInput]) {
        guard let object = jsonObject(line) else { refuse(c, .badJSON); return }
        if let token = object["auth"] {
            guard first else { refuse(c, .authNotFirst); return }
            authenticate(c, token: token as? String)
            return
        }
        guard let session = object["session"] as? String else { refuse(c, object["session"] == nil ? .badJSON : .notText(field: "session")); return }
        if let problem = CustomerID.problem(session) { refuse(c, .badID(field: "session", problem)); return }
        var customer = session
        if let named = object["customer"] {
            guard let name = named as? String else { refuse(c, .notText(field: "customer")); return }
            if !name.isEmpty {
                if let problem = CustomerID.problem(name) { refuse(c, .badID(field: "customer", problem)); return }
                customer = name
            }
        }
        let speaker = Speaker.session(session, customer: customer, trusted: c.integration)
        if let code = object["resume"] as? String {
            inputs.append(.resume(connection: c.id, speaker: speaker, code: code, received: received))
        } else if let message = object["text"] as? String, !message.trimmingSpaces.isEmpty {
            if message.utf8.count > config.maxLineBytes { refuse(c, .tooLong); return }
            inputs.append(.customer(connection: c.id, speaker: speaker, text: message, received: received))
        } else {
            inputs.append(.identify(connection: c.id, speaker: speaker, received: received))
        }
    }

    /// Checks the integration token in constant time; a wrong one closes the connection, so
    /// each guess costs the guesser a connection.
    private func authenticate(_ c: Connection, token: String?) {
        if let expected = config.integrationToken, let token, constantTimeEqual(Array(token.utf8), Array(expected.utf8)) {
            c.integration = true
            enqueue(c, Array((ServiceEngine.json(["type": "authenticated"]) + "\n").utf8))
            return
        }
        FileHandle.standardError.write(Data("kefu serve: failed integration auth on customer connection \(c.id); closed\n".utf8))
        let why = config.integrationToken == nil ? "this server has no integration token configured" : "wrong integration token"
        c.closeAfterWrite = true
        enqueue(c, Array((ServiceEngine.json(["error": why + "; use $KEFU_INTEGRATION_TOKEN or the integration-token file in the server's data folder"]) + "\n").utf8))
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

    private func refuse(_ c: Connection, _ why: Refusal) {
        let line: String
        switch (c.kind, c.mode, why) {
        case (.agent, _, .tooLong): line = "ERR line too long (limit \(config.maxLineBytes) bytes)\n"
        case (.agent, _, .tooFast): line = "ERR too many lines; slow down\n"
        case (.agent, _, _): line = "ERR unreadable line: send UTF-8 text\n"
        case (_, .json, let why):
            let message = switch why {
            case .tooLong: "line too long (limit \(config.maxLineBytes) bytes)"
            case .unreadable: "not valid UTF-8 text"
            case .tooFast: "too many messages; slow down"
            case .badJSON, .identityNotFirst: "each line must be a JSON object with a \"session\" key"
            case .badID(let field, let problem): IdentityNotice.badIDJSON(field, problem)
            case .notText(let field): "\(field) must be a JSON string"
            case .authNotFirst: "{\"auth\": …} is accepted only as the first line; open a new connection to authenticate"
            }
            line = ServiceEngine.json(["error": message]) + "\n"
        case (_, _, .tooLong): line = "抱歉，您的消息太长了，请分几条发送。(message too long)\n\n"
        case (_, _, .tooFast): line = "您发送得太快了，请稍等片刻再发。(too many messages, slow down)\n\n"
        case (_, _, .identityNotFirst): line = IdentityNotice.notFirstLine + "\n\n"
        case (_, _, .badID(_, let problem)): line = IdentityNotice.badID(problem) + "\n\n"
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
            if c.closeAfterWrite { drop(c); return }
        }
        // A full socket is watched for room; an emptied one no longer is.
        updateInterest(c)
    }

    func drop(_ c: Connection) {
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

    private func countConnection(_ c: Connection, by change: Int) {
        if c.kind == .agent { agentCount += change } else { customerCount += change }
        counters.connections(customer: customerCount, agent: agentCount)
    }

    private func closeIdle(now: UInt64) {
        let limit = UInt64(config.idleTimeout * 1e9)
        let lineLimit = UInt64(config.lineTimeout * 1e9)
        for c in Array(connections.values) where c.lineStarted != 0 && now - c.lineStarted > lineLimit && !c.closeAfterWrite {
            let seconds = Int(config.lineTimeout.rounded())
            let notice = c.kind == .agent ? "* BYE line not finished within \(seconds) seconds\n"
                : (c.mode == .json ? ServiceEngine.json(["type": "goodbye", "reason": "line not finished within \(seconds) seconds"]) + "\n"
                   : "您的消息在 \(seconds) 秒内没有发送完整，连接已关闭，请重新连接。(line not finished within \(seconds) seconds)\n\n")
            if c.kind == .http {
                sayGoodbye(c, status: 408, reason: "request not finished within \(seconds) seconds")
                continue
            }
            c.closeAfterWrite = true
            enqueue(c, Array(notice.utf8))
        }
        for c in Array(connections.values) where now - c.lastActive > limit && !c.closeAfterWrite {
            if c.kind == .http {
                sayGoodbye(c, status: nil, reason: "idle timeout")
                continue
            }
            let goodbye = c.kind == .agent ? "* BYE idle timeout\n" : (c.mode == .json ? ServiceEngine.json(["type": "goodbye", "reason": "idle timeout"]) + "\n" : "您已长时间未发送消息，连接已关闭，欢迎随时回来。(idle timeout)\n\n")
            c.closeAfterWrite = true
            enqueue(c, Array(goodbye.utf8))
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
        performAndWait { [self] in
            for c in Array(connections.values) {
                if c.kind == .http {
                    sayGoodbye(c, status: 503, reason: "server shutting down")
                    continue
                }
                let goodbye = c.kind == .agent ? "* BYE server shutting down\n" : (c.mode == .json ? ServiceEngine.json(["type": "goodbye", "reason": "server shutting down"]) + "\n" : "服务即将维护，连接将关闭，请稍后重新连接。(server shutting down)\n\n")
                c.closeAfterWrite = true
                enqueue(c, Array(goodbye.utf8))
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
