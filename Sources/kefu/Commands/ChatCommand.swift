import Foundation
import KefuCore

/// `kefu chat`: a customer conversation on the terminal, or one reply block per piped line.
enum ChatCommand {
    static let name = "chat"
    static let summary = "chat with the bot as a customer (terminal or piped lines)"
    static let customer = Option("--customer", value: "ID", help: "the customer's id (default: guest); the same id continues an open case")
    static let channel = Option("--channel", value: "NAME", help: "the channel recorded with the conversation", default: "cli")
    static let json = Option("--json", help: """
        one JSON object per reply instead of a text block: text, route, topic,
        entry, act, ticket, emotion (the gateway's JSON Lines fields)
        """)
    static let command = CommandDescription(
        name: name, summary: summary,
        about: """
        Talks to the bot as a customer. On a terminal it greets you and shows a prompt; with
        piped input every non-blank line gets exactly one reply block (reply lines, then an
        empty line) on standard output, diagnostics go to standard error, and it exits 0 at
        the end of the input. Handed-off cases go to the queue in the data folder, where
        agents work on them with `kefu agent`.
        """,
        options: [KnowledgeOptions.kb.with(help: "knowledge base folder", default: "$KEFU_KB or ."),
                  DataOptions.data.with(help: "queue, transcripts and event log", default: "$KEFU_DATA or ./.kefu"),
                  customer, channel, json],
        examples: ["printf '我的卡丢了\\n谢谢\\n5\\n' | kefu chat --customer c42"])
    static var help: String { command.help }
    static let maxLineBytes = 2000

    /// Picks up saved edits to the knowledge files (checked at most every 2 s, before a
    /// message) and SIGHUP. A broken edit is reported as file:line on stderr and the
    /// knowledge base in use stays; a good one is used from the next message on.
    final class ChatReloader: @unchecked Sendable {
        private var watcher: KnowledgeWatcher
        private var lastCheck = Date()
        private let lock = NSLock()
        private var hangup = false
        private let source: any DispatchSourceSignal

        init(folder: String) {
            watcher = KnowledgeWatcher(folder: folder)
            signal(SIGHUP, SIG_IGN)
            source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "kefu.chat.signals"))
            source.resume()
            source.setEventHandler { [weak self] in self?.lock.withLock { self?.hangup = true } }
        }

        func freshKnowledgeBase() -> KnowledgeBase? {
            let signalled = lock.withLock { () -> Bool in defer { hangup = false }; return hangup }
            guard signalled || Date().timeIntervalSince(lastCheck) >= 2 else { return nil }
            lastCheck = Date()
            guard watcher.changed() || signalled else { return nil }
            switch KnowledgeReload.attempt(folder: watcher.folder) {
            case .reloaded(let kb):
                printError("kefu: knowledge base reloaded (\(kb.entries.count) entries)")
                return kb
            case .refused(let problems):
                problems.forEach { printError("kefu: \($0)") }
                printError("kefu: the edit was not applied; the previous knowledge base keeps answering")
                return nil
            }
        }
    }

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        if let extra = args.positionals.first {
            throw UsageError(message: "unexpected argument '\(extra)'; type messages on standard input.", command: name)
        }
        var kb = try KnowledgeOptions.load(args)
        let desk = try DataOptions.open(args)
        var dialogue = Dialogue(kb: kb, desk: desk)
        let reloader = ChatReloader(folder: KnowledgeOptions.folder(args))
        let json = args.has(json)
        let interactive = isatty(0) == 1 && isatty(1) == 1 && !json
        var state = try dialogue.start(customer: args[customer] ?? "guest", channel: args[channel] ?? "cli", now: Date())
        if interactive, let opening = try dialogue.opening(&state, now: Date()) {
            show(opening.shown, interactive: true)
        }
        let pusher = interactive ? AgentMessagePusher(desk: desk, customer: state.customer) : nil
        var reader = LineReader(fileDescriptor: 0, maxBytes: maxLineBytes)
        while true {
            if interactive { print("您 > ", terminator: ""); flushStandardOutput() }
            guard let line = reader.next() else { break }
            let lines: [String]
            switch line {
            case .text(let typed):
                // Arrow keys and other terminal escape sequences are keys, not words.
                let text = interactive ? TerminalInput.withoutEscapes(typed) : typed
                if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
                if let fresh = reloader.freshKnowledgeBase() {
                    kb = fresh
                    dialogue = Dialogue(kb: fresh, desk: desk)
                }
                do {
                    let reply = try pusher.map { p in try p.paused { try dialogue.respond(to: text, in: &state, now: Date()) } }
                        ?? dialogue.respond(to: text, in: &state, now: Date())
                    if json {
                        print(JSONValue.line(ReplyJSON.object(reply)))
                        flushStandardOutput()
                        continue
                    }
                    lines = reply.shown
                } catch {
                    // The message could not be recorded: say so rather than pretend it was.
                    printError("kefu: \(error)")
                    lines = ["抱歉，系统暂时无法记录您的消息，请稍后再试或拨打 \(kb.company["hotline"] ?? "客服热线")。"]
                }
            case .invalidUTF8:
                printError("kefu: input line is not valid UTF-8; answered with a request to retype it")
                lines = [kb.filledPhrases["unreadable"] ?? ""]
            case .tooLong(let count):
                printError("kefu: input line of \(count) bytes is longer than \(maxLineBytes); refused")
                lines = [kb.filledPhrases["too_long"] ?? ""]
            }
            show(lines, interactive: interactive)
        }
        if interactive { print("") }
        pusher?.stop()
        return 0
    }

    /// Writes reply lines to the customer: an agent's reply shown on return may hold any character.
    static func show(_ lines: [String], interactive: Bool) {
        let lines = LineSanitizer.lines(lines.joined(separator: "\n"))
        if interactive {
            for line in lines { print("客服 > \(line)") }
        } else {
            for line in lines { print(line) }
            print("")
        }
        flushStandardOutput()
    }
}

/// Strips terminal escape sequences (`ESC [ A` for ↑ and the like) from a typed line.
enum TerminalInput {
    static func withoutEscapes(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        while let s = scalars.next() {
            guard s.value == 0x1B else { out.append(s); continue }
            // ESC [ parameters… final byte (0x40–0x7E), or ESC and one character.
            guard let next = scalars.next() else { break }
            if next == "[" || next == "O" {
                while let c = scalars.next(), !(0x40...0x7E).contains(c.value) {}
            }
        }
        return String(out)
    }
}

/// In an interactive `kefu chat`, shows an agent's messages as they arrive instead of at the
/// customer's next line: a background thread looks at the queue every second.
final class AgentMessagePusher: @unchecked Sendable {
    private let desk: ServiceDesk
    private let customer: String
    private let lock = NSLock()
    private var running = true
    private var thread: Thread?

    init(desk: ServiceDesk, customer: String) {
        self.desk = desk
        self.customer = customer
        let thread = Thread { [weak self] in
            while let self, self.lock.withLock({ self.running }) {
                self.lock.withLock { self.deliverNew() }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        self.thread = thread
        thread.start()
    }

    /// Runs `body` (the dialogue answering a line) without a delivery in between, so a
    /// message is never shown twice.
    func paused<T>(_ body: () throws -> T) rethrows -> T { try lock.withLock { try body() } }

    func stop() { lock.withLock { running = false } }

    private func deliverNew() {
        try? desk.tickets.refresh()
        guard let ticket = try? desk.tickets.openTicket(customer: customer) else { return }
        let replies = ticket.agentReplies
        guard replies.count > ticket.deliveredReplies else { return }
        let lines = replies.dropFirst(ticket.deliveredReplies).map { "[人工客服 \($0.from.dropFirst("agent:".count))] \($0.text)" }
        try? desk.tickets.markDelivered(ticket.id, count: replies.count, now: Date())
        print("")
        ChatCommand.show(lines, interactive: true)
        print("您 > ", terminator: "")
        flushStandardOutput()
    }
}
