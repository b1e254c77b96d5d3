import Foundation
import KefuCore

/// `kefu serve`: the TCP gateway for customers and agents.
enum ServeCommand {
    static let name = "serve"
    static let summary = "run the gateway for customers and agents: line protocols, and HTTP/WebSocket with the chat page and the agent console"
    static let customerListen = Option("--customer-listen", value: "ADDR:PORT", help: "customer listener", default: "127.0.0.1:8770")
    static let agentListen = Option("--agent-listen", value: "ADDR:PORT", help: "agent listener", default: "127.0.0.1:8771")
    static let httpListen = Option("--http-listen", value: "ADDR:PORT", help: "HTTP and WebSocket listener", default: "none")
    static let maxConnections = Option("--max-connections", value: "N", help: """
        customer connections (default 4096; never more than the descriptor
        limit allows, printed at start)
        """)
    static let agentSlots = Option("--agent-slots", value: "N", help: "agent connections beyond those, which customers never take", default: "32")
    static let idleTimeout = Option("--idle-timeout", value: "SECONDS", help: "close silent connections", default: "600")
    static let lineTimeout = Option("--line-timeout", value: "SECONDS", help: "a line must be complete this long after its first byte", default: "30")
    static let rate = Option("--rate", value: "N", help: "lines per second per connection before it is told to slow down", default: "20")
    static let maxConversations = Option("--max-conversations", value: "N", help: """
        conversations kept in memory; the least recently used beyond it
        wait on disk until their customer writes again (default 5000)
        """)
    static let conversationIdle = Option("--conversation-idle", value: "SECONDS", help: "a conversation silent this long ends and is recorded as ended", default: "1800")
    static let maxSessions = Option("--max-sessions", value: "N", help: "sessions one JSON Lines connection may hold at once", default: "1000")
    static let webhook = Option("--webhook", value: "URL", help: """
        post events to http://HOST[:PORT]/PATH; repeat for several receivers
        (http only: no TLS in this build)
        """, repeatable: true)
    static let command = CommandDescription(
        name: name, summary: summary,
        about: """
        Serves customers (plain lines or JSON Lines, see docs/PROTOCOL.md) and agents (AUTH, LIST,
        CLAIM, REPLY …) over TCP. Binds to 127.0.0.1; port 0 picks a free port. Prints
        `listening customer HOST:PORT` and `listening agent HOST:PORT` once both are open.
        With --http-listen it also serves HTTP and WebSocket (docs/HTTP.md): the customer chat
        page at /chat/, the agent console at /agent/, and the integrator API under /v1/, and
        prints `listening http HOST:PORT`. Browsers' conversation tokens are signed with the
        file web-secret in the data folder ($KEFU_WEB_SECRET when set), created on first use.
        SIGTERM or SIGINT: stop accepting, finish replies in flight, sync, say goodbye, exit 0.
        SIGHUP, or a saved edit under FAQ/ or Intents/ (checked every 2 s): reload the knowledge
        base; a broken edit is reported as file:line and the old knowledge base keeps serving.
        Agents log in with their own accounts, kept in the file `agents` in the data folder:
        create them with `kefu agent add NAME --data DIR`, also while the server runs (it reads
        the file again when it changes). Failed logins are slowed and locked out per name and
        per client address. The integration token, which a
        JSON Lines client sends first as {"auth": "TOKEN"} to name its customers, is
        $KEFU_INTEGRATION_TOKEN, else the file integration-token (created the same way).
        Without it a JSON client's customer names are scoped to its connection, and a plain
        client's /id is only a label: customers come back to a case with the /resume code
        they were given at handoff.
        With --webhook (repeatable) it posts handoffs, agents joining and replying, resolved
        cases and ratings to each URL as signed JSON (docs/HTTP.md, Webhooks), from a durable
        outbox (webhooks.journal in the data folder), retried with back-off until each receiver
        answers 2xx. The signing secret is $KEFU_WEBHOOK_SECRET, else the file webhook-secret.
        With --store redis://… the tickets and events are on Redis, so several kefu serve
        instances behind a TCP load balancer share one queue (docs/SCALING.md); each still
        needs the data folder's accounts and secrets (the same files on every instance).
        """,
        options: [KnowledgeOptions.kb.with(help: "knowledge base folder", default: "$KEFU_KB or ."),
                  DataOptions.data.with(help: "queue and event log, accounts, secrets", default: "$KEFU_DATA or ./.kefu"),
                  DataOptions.store.with(help: """
                      tickets and events on Redis: redis://[user:password@]host:port/db
                      (default: the journals in the data folder)
                      """),
                  customerListen, agentListen, httpListen, maxConnections, agentSlots, idleTimeout, lineTimeout, rate,
                  maxConversations, conversationIdle, maxSessions, webhook],
        examples: ["kefu serve --customer-listen 127.0.0.1:0 --agent-listen 127.0.0.1:0"])
    static var help: String { command.help }

    static func run(_ arguments: [String]) throws -> Int32 {
        // Before any thread allocates: the gateway's threads share two arenas (see the function).
        limitMallocArenas(to: 2)
        let args = try ParsedArguments.parse(arguments, for: command)
        if let extra = args.positionals.first { throw UsageError(message: "unexpected argument '\(extra)'.", command: name) }
        var config = GatewayConfiguration()
        func address(_ option: Option) throws -> Socket.Address? {
            guard let text = args[option] else { return nil }
            guard let address = Socket.Address(text) else {
                throw UsageError(message: "\(option.name) takes HOST:PORT such as 127.0.0.1:8770, not '\(text)'.", command: name)
            }
            return address
        }
        if let a = try address(customerListen) { config.customerAddress = a }
        if let a = try address(agentListen) { config.agentAddress = a }
        config.httpAddress = try address(httpListen)
        config.webhooks = try webhookTargets(args.all(webhook))
        func count(_ option: Option) throws -> Int? {
            guard let text = args[option] else { return nil }
            guard let n = Int(text), n > 0 else { throw UsageError(message: "\(option.name) takes a positive number, not '\(text)'.", command: name) }
            return n
        }
        func seconds(_ option: Option) throws -> Double? {
            guard let text = args[option] else { return nil }
            guard let n = Double(text), n > 0 else { throw UsageError(message: "\(option.name) takes seconds, not '\(text)'.", command: name) }
            return n
        }
        if let n = try count(maxConnections) { config.maxConnections = n }
        if let n = try count(agentSlots) { config.agentSlots = n }
        if let n = try count(maxConversations) { config.conversations.maxLive = n }
        if let n = try count(maxSessions) { config.conversations.maxSessionsPerConnection = n }
        if let n = try seconds(idleTimeout) { config.idleTimeout = n }
        if let n = try seconds(lineTimeout) { config.lineTimeout = n }
        if let n = try seconds(conversationIdle) { config.conversations.idleHorizon = n }
        if let text = args[rate] {
            guard let n = Double(text), n > 0 else { throw UsageError(message: "--rate takes lines per second, not '\(text)'.", command: name) }
            config.linesPerSecond = n
            config.burst = max(config.burst, n * 2)
        }
        let kbFolder = KnowledgeOptions.folder(args)
        let kb = try KnowledgeOptions.load(args)
        let desk = try DataOptions.open(args)
        warnAboutSharedToken(dataFolder: desk.folder)
        config.integrationToken = try integrationToken(dataFolder: desk.folder)
        if config.httpAddress != nil {
            config.webSecret = try ServerSecret.load(environment: "KEFU_WEB_SECRET", file: "web-secret", dataFolder: desk.folder)
        }
        if !config.webhooks.isEmpty {
            config.webhookSecret = try ServerSecret.load(environment: "KEFU_WEBHOOK_SECRET", file: "webhook-secret", dataFolder: desk.folder)
        }
        ConnectionBudget.raiseDescriptorLimit()

        let gateway = try Gateway(kb: kb, desk: desk, configuration: config)
        printError("kefu serve: \(gateway.budget.description)")
        let bound: (customer: Socket.Address, agent: Socket.Address)
        do {
            bound = try gateway.bind()
        } catch {
            throw CommandFailure(message: "cannot listen: \(error). Is another kefu serve running? Pick other ports with --customer-listen / --agent-listen / --http-listen.")
        }
        let signals = installSignalHandlers(gateway: gateway, kbFolder: kbFolder)
        print("listening customer \(bound.customer)")
        print("listening agent \(bound.agent)")
        if let http = gateway.httpBound { print("listening http \(http)") }
        if !config.webhooks.isEmpty { printError("kefu serve: webhooks to \(config.webhooks.map(\.url).joined(separator: ", "))") }
        flushStandardOutput()
        gateway.run()
        withExtendedLifetime(signals) {}
        let store = args[DataOptions.store].map { "on Redis at \(DataOptions.redactedURL($0))" } ?? "on disk in \(desk.folder)"
        printError("kefu serve: stopped; everything acknowledged is \(store)")
        return 0
    }

    /// The `--webhook` URLs, each checked: `http://HOST[:PORT][/PATH]`.
    static func webhookTargets(_ texts: [String]) throws -> [WebhookTarget] {
        try texts.map { text in
            do {
                return try WebhookTarget(text)
            } catch {
                throw UsageError(message: "--webhook takes http://HOST[:PORT]/PATH: \(error)", command: name)
            }
        }
    }

    /// The shared agent token is gone; a deployment that still has one is told, so nobody
    /// believes it still protects anything.
    static func warnAboutSharedToken(dataFolder: String) {
        if ProcessInfo.processInfo.environment["KEFU_AGENT_TOKEN"] != nil {
            printError("kefu serve: KEFU_AGENT_TOKEN is no longer used: agents log in with their own accounts (`kefu agent add NAME`)")
        }
        let old = (dataFolder as NSString).appendingPathComponent("agent-token")
        if FileManager.default.fileExists(atPath: old) {
            printError("kefu serve: \(old) is no longer used: agents log in with their own accounts (`kefu agent add NAME`); delete it")
        }
    }

    /// The secret an integration sends as `{"auth": …}` to name its customers.
    static func integrationToken(dataFolder: String) throws -> String {
        try ServerSecret.load(environment: "KEFU_INTEGRATION_TOKEN", file: "integration-token", dataFolder: dataFolder)
    }

    /// SIGTERM / SIGINT stop the gateway gracefully; SIGHUP and file edits reload.
    static func installSignalHandlers(gateway: Gateway, kbFolder: String) -> [any DispatchSourceProtocol] {
        let queue = DispatchQueue(label: "kefu.signals")
        var sources: [any DispatchSourceProtocol] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { gateway.shutdown() }
            source.resume()
            sources.append(source)
        }
        // SIGHUP and the file watcher share one serial queue and one fingerprint, so an edit
        // is reported once, whichever noticed it first.
        nonisolated(unsafe) var watcher = KnowledgeWatcher(folder: kbFolder)
        let reload: @Sendable (String) -> Void = { why in
            _ = watcher.changed()
            switch KnowledgeReload.attempt(folder: kbFolder) {
            case .reloaded(let kb):
                gateway.reload(kb)
                printError("kefu serve: knowledge base reloaded (\(why)): \(kb.entries.count) entries")
            case .refused(let problems):
                for p in problems { printError("kefu serve: \(p)") }
                if problems.isEmpty { printError("kefu serve: the knowledge files could not be read; run `kefu lint` for details") }
                printError("kefu serve: reload refused (\(why)); the previous knowledge base keeps serving")
            }
        }
        signal(SIGHUP, SIG_IGN)
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        hup.setEventHandler { reload("SIGHUP") }
        hup.resume()
        sources.append(hup)
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 2, repeating: 2)
        timer.setEventHandler { if watcher.changed() { reload("files changed") } }
        timer.resume()
        sources.append(timer)
        return sources
    }
}
