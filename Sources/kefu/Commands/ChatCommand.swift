import Foundation
import KefuCore

/// `kefu chat`: a customer conversation on the terminal, or one reply block per piped line.
enum ChatCommand {
    static let name = "chat"
    static let summary = "chat with the bot as a customer (terminal or piped lines)"
    static let help = """
    Usage: kefu chat [--kb DIR] [--data DIR] [--customer ID] [--channel NAME]

    Talks to the bot as a customer. On a terminal it greets you and shows a prompt; with
    piped input every non-blank line gets exactly one reply block (reply lines, then an
    empty line) on standard output, diagnostics go to standard error, and it exits 0 at
    the end of the input. Handed-off cases go to the queue in the data folder, where
    agents work on them with `kefu agent`.

    Options:
      --kb DIR          knowledge base folder (default: $KEFU_KB or .)
      --data DIR        queue, transcripts and event log (default: $KEFU_DATA or ./.kefu)
      --customer ID     the customer's id (default: guest); the same id continues an open case
      --channel NAME    the channel recorded with the conversation (default: cli)

    Example:
      printf '我的卡丢了\\n谢谢\\n5\\n' | kefu chat --customer c42
    """
    static let options = [KnowledgeOptions.spec, DataOptions.spec, OptionSpec(name: "--customer", takesValue: true),
                          OptionSpec(name: "--channel", takesValue: true)]
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
        let args = try ParsedArguments.parse(arguments, options: options, command: name)
        if let extra = args.positionals.first {
            throw UsageError(message: "unexpected argument '\(extra)'; type messages on standard input.", command: name)
        }
        var kb = try KnowledgeOptions.load(args)
        let desk = try DataOptions.open(args)
        var dialogue = Dialogue(kb: kb, desk: desk)
        let reloader = ChatReloader(folder: args.value("--kb") ?? KnowledgeLoader.defaultFolder())
        let interactive = isatty(0) == 1 && isatty(1) == 1
        var state = try dialogue.start(customer: args.value("--customer") ?? "guest", channel: args.value("--channel") ?? "cli", now: Date())
        if interactive, let opening = try dialogue.opening(&state, now: Date()) {
            show(opening.shown, interactive: true)
        }
        var reader = LineReader(fileDescriptor: 0, maxBytes: maxLineBytes)
        while true {
            if interactive { print("您 > ", terminator: ""); flushStandardOutput() }
            guard let line = reader.next() else { break }
            let lines: [String]
            switch line {
            case .text(let text):
                if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
                if let fresh = reloader.freshKnowledgeBase() {
                    kb = fresh
                    dialogue = Dialogue(kb: fresh, desk: desk)
                }
                do {
                    lines = try dialogue.respond(to: text, in: &state, now: Date()).shown
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
