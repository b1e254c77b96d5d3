import Foundation
import KefuCore

/// `kefu serve`: the TCP gateway for customers and agents.
enum ServeCommand {
    static let name = "serve"
    static let summary = "run the line-protocol gateway for customers and agents"
    static let help = """
    Usage: kefu serve [--kb DIR] [--data DIR] [--customer-listen ADDR:PORT] [--agent-listen ADDR:PORT]
                      [--max-connections N] [--idle-timeout SECONDS] [--rate LINES_PER_SECOND]

    Serves customers (plain lines or JSON Lines, see docs/PROTOCOL.md) and agents (AUTH, LIST,
    CLAIM, REPLY …) over TCP. Binds to 127.0.0.1; port 0 picks a free port. Prints
    `listening customer HOST:PORT` and `listening agent HOST:PORT` once both are open.
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

    Options:
      --kb DIR                    knowledge base folder (default: $KEFU_KB or .)
      --data DIR                  queue and event log (default: $KEFU_DATA or ./.kefu)
      --customer-listen ADDR:PORT customer listener (default 127.0.0.1:8770)
      --agent-listen ADDR:PORT    agent listener (default 127.0.0.1:8771)
      --max-connections N         customer and agent connections together (default 4096)
      --idle-timeout SECONDS      close silent connections (default 600)
      --rate N                    lines per second per connection before it is told to slow down (default 20)

    Example:
      kefu serve --customer-listen 127.0.0.1:0 --agent-listen 127.0.0.1:0
    """
    static let options = [KnowledgeOptions.spec, DataOptions.spec, OptionSpec(name: "--customer-listen", takesValue: true),
                          OptionSpec(name: "--agent-listen", takesValue: true), OptionSpec(name: "--max-connections", takesValue: true),
                          OptionSpec(name: "--idle-timeout", takesValue: true), OptionSpec(name: "--rate", takesValue: true)]

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, options: options, command: name)
        if let extra = args.positionals.first { throw UsageError(message: "unexpected argument '\(extra)'.", command: name) }
        var config = GatewayConfiguration()
        for (option, keyPath) in [("--customer-listen", \GatewayConfiguration.customerAddress), ("--agent-listen", \GatewayConfiguration.agentAddress)] {
            guard let text = args.value(option) else { continue }
            guard let address = Socket.Address(text) else {
                throw UsageError(message: "\(option) takes HOST:PORT such as 127.0.0.1:8770, not '\(text)'.", command: name)
            }
            config[keyPath: keyPath] = address
        }
        if let text = args.value("--max-connections") {
            guard let n = Int(text), n > 0 else { throw UsageError(message: "--max-connections takes a positive number, not '\(text)'.", command: name) }
            config.maxConnections = n
        }
        if let text = args.value("--idle-timeout") {
            guard let n = Double(text), n > 0 else { throw UsageError(message: "--idle-timeout takes seconds, not '\(text)'.", command: name) }
            config.idleTimeout = n
        }
        if let text = args.value("--rate") {
            guard let n = Double(text), n > 0 else { throw UsageError(message: "--rate takes lines per second, not '\(text)'.", command: name) }
            config.linesPerSecond = n
            config.burst = max(config.burst, n * 2)
        }
        let kbFolder = args.value("--kb") ?? KnowledgeLoader.defaultFolder()
        let kb = try KnowledgeOptions.load(args)
        let desk = try DataOptions.open(args)
        warnAboutSharedToken(dataFolder: desk.folder)
        config.integrationToken = try integrationToken(dataFolder: desk.folder)
        raiseFileLimit()

        let gateway = try Gateway(kb: kb, desk: desk, configuration: config)
        let bound: (customer: Socket.Address, agent: Socket.Address)
        do {
            bound = try gateway.bind()
        } catch {
            throw CommandFailure(message: "cannot listen: \(error). Is another kefu serve running? Pick other ports with --customer-listen / --agent-listen.")
        }
        let signals = installSignalHandlers(gateway: gateway, kbFolder: kbFolder)
        print("listening customer \(bound.customer)")
        print("listening agent \(bound.agent)")
        flushStandardOutput()
        gateway.run()
        withExtendedLifetime(signals) {}
        printError("kefu serve: stopped; everything acknowledged is on disk in \(desk.folder)")
        return 0
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

    /// Thousands of connections need more than the usual 1,024 descriptors.
    static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
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
