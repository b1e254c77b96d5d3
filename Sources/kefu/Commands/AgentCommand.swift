import Foundation
import KefuCore

/// `kefu agent`: agents work through the handoff queue in the data folder, or on a running
/// server with `--connect`; administrators manage the agents' accounts.
enum AgentCommand {
    static let name = "agent"
    static let summary = "list, claim, answer and resolve handed-off cases; manage agent accounts"
    static let connect = Option("--connect", value: "ADDR:PORT", help: """
        send the verb to a running `kefu serve` (its agent port) instead of
        working on the data folder; customers connected there see replies live.
        Logs in as --as NAME with the password from --password-file FILE or
        $KEFU_AGENT_PASSWORD (never on the command line, where others see it)
        """)
    static let passwordFile = Option("--password-file", value: "FILE", help: "a file holding the password for --connect (first line)")
    static let role = Option("--role", value: "ROLE", help: "agent (default) or supervisor, for add")
    static let asAgent = Option("--as", value: "NAME", help: """
        the agent doing it (default: $KEFU_AGENT or $USER). Without --connect no
        password is asked: whoever may write the data folder may act as any agent
        (roles still come from the accounts file)
        """)
    static let to = Option("--to", value: "NAME", help: "the agent a ticket is transferred to, for transfer")
    static let note = Option("--note", value: "TEXT", help: "a closing note, for resolve")
    static let json = Option("--json", help: "machine-readable output (list: one array; show: one object)")
    /// The shared agent token is gone; still parsed, to say so.
    static let token = Option("--token", value: "TOKEN", help: "no longer used", hidden: true)
    static let command = CommandDescription(
        name: name, summary: summary,
        usage: [UsageForm("<verb> [arguments]", optional: [DataOptions.data, DataOptions.store, asAgent, to, note, json]),
                UsageForm("<verb> [arguments]", required: [connect, asAgent], optional: [passwordFile, to, note]),
                UsageForm("add|passwd|remove NAME", optional: [role, DataOptions.data]),
                UsageForm("accounts", optional: [json, DataOptions.data])],
        about: """
        Verbs:
          list [--json]                  waiting and claimed tickets, most urgent first
          show ID [--json]               everything in a ticket; numbers stay masked unless
                                         --as NAME is the agent who holds the ticket
          claim ID --as NAME             take a ticket
          next --as NAME                 take the most urgent waiting ticket
          reply ID "text" --as NAME      answer the customer (delivered when they are connected)
          note ID "text" --as NAME       an internal note
          transfer ID --to NAME --as NAME  hand a ticket to another agent (one another agent holds:
                                         supervisors only)
          release ID --as NAME           put a claimed ticket back in the queue (one another agent
                                         holds: supervisors only)
          resolve ID [--note "…"] --as NAME  close the case; the bot asks the customer for a rating

        Accounts (in the data folder's `agents` file; no server needed, a running one sees changes):
          add NAME [--role supervisor]   create an account; prints a generated password, once
          passwd NAME                    give an agent a new generated password, printed once
          remove NAME                    delete an account; they can no longer log in
          accounts [--json]              the accounts and their roles
        """,
        options: [connect, passwordFile, role, DataOptions.data, DataOptions.store, asAgent, to, note, json, token],
        examples: ["(umask 077; kefu agent add 张三 --data /srv/kefu > zhangsan.password)",
                   "KEFU_AGENT_PASSWORD=… kefu agent next --connect 127.0.0.1:8771 --as 张三",
                   "kefu agent next --as 张三 && kefu agent reply T000001 \"您好，我来帮您处理\" --as 张三"])
    static var help: String { command.help }
    static let verbs = ["list", "show"] + AgentDesk.Action.allCases.map(\.rawValue) + AgentAccountsCommand.verbs

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, for: command)
        guard let verb = args.positionals.first else {
            throw UsageError(message: "give a verb: \(verbs.joined(separator: ", ")).", command: name)
        }
        guard verbs.contains(verb) else {
            var message = "unknown verb '\(verb)'."
            if let near = Suggestion.closest(verb, among: verbs) { message += " Did you mean '\(near)'?" }
            throw UsageError(message: message, command: name)
        }
        let rest = Array(args.positionals.dropFirst())
        if args[token] != nil {
            throw UsageError(message: "--token is gone: agents log in with their own accounts. Use --as NAME with --password-file FILE or $KEFU_AGENT_PASSWORD; an administrator creates the account with `kefu agent add NAME`.", command: name)
        }
        if AgentAccountsCommand.verbs.contains(verb) {
            return try AgentAccountsCommand.run(verb: verb, rest: rest, args: args)
        }
        if let address = args[connect] {
            return try RemoteAgent.run(verb: verb, rest: rest, args: args, address: address)
        }
        // Looking is not changing: list and show open the folder read-only.
        let desk = try DataOptions.open(args, readOnly: verb == "list" || verb == "show")
        let agent = args[asAgent] ?? ProcessInfo.processInfo.environment["KEFU_AGENT"] ?? ProcessInfo.processInfo.environment["USER"] ?? "agent"
        // The same desk as the server's agent port: the same checks, the same events.
        let work = AgentDesk(desk: desk, agent: agent, role: AgentDesk.role(of: agent, inDataFolder: desk.folder))
        let now = Date()
        func id(_ usage: String) throws -> String {
            guard let id = rest.first else { throw UsageError(message: "usage: kefu agent \(usage)", command: name) }
            return id
        }
        func text(_ usage: String) throws -> String {
            guard rest.count >= 2 else { throw UsageError(message: "usage: kefu agent \(usage)", command: name) }
            return rest.dropFirst().joined(separator: " ")
        }
        do {
            switch verb {
            case "list":
                let queue = try work.list()
                if args.has(json) {
                    print(JSONValue.line(queue.map { TicketJSON.listing($0, now: now) }))
                } else if queue.isEmpty {
                    print("No open tickets.")
                } else {
                    for t in queue {  // what customers and agents wrote is masked, then made one line
                        let who = t.assignee.map { "claimed by \($0)" } ?? "waiting"
                        print(LineSanitizer.clean("\(t.id)  p\(t.priority)  \(t.reason.rawValue)  \(who)  waited \(TicketJSON.duration(t.waited(now: now)))  \(PrivacyMask.mask(t.customer))/\(t.channel)"))
                        print("         " + LineSanitizer.clean(PrivacyMask.mask(t.summary)))
                    }
                }
            case "show":
                let ticketID = try id("show ID")
                guard let t = try work.show(ticketID) else { throw TicketError.unknown(ticketID) }
                // Without --as the name is only a guess ($KEFU_AGENT, $USER): numbers stay masked.
                let unmasked = args[asAgent] != nil && work.seesUnmasked(t)
                if args.has(json) {
                    print(JSONValue.line(TicketJSON.full(t, now: now, unmasked: unmasked)))
                } else {
                    print(TicketJSON.text(t, now: now, unmasked: unmasked))
                }
            case "claim":
                let t = try work.claim(try id("claim ID --as NAME"), now: now)
                print(LineSanitizer.clean("OK \(t.id) claimed by \(agent). \(t.summary)"))
            case "next":
                guard let t = try work.next(now: now) else {
                    print("No ticket is waiting.")
                    return 0
                }
                print(LineSanitizer.clean("OK \(t.id) claimed by \(agent) (\(t.reason.rawValue), priority \(t.priority)). \(t.summary)"))
            case "reply":
                let ticketID = try id("reply ID \"text\" --as NAME")
                try work.reply(ticketID, text: try text("reply ID \"text\" --as NAME"), now: now)
                // With --store, a gateway holding the customer delivers it now.
                if let relay = desk.relay, (try? relay.announce(RelayNotice(.reply, ticket: ticketID, origin: "kefu-agent"))) != nil {
                    print("OK reply recorded on \(ticketID); a kefu serve the customer is connected to delivers it now, else they see it on return.")
                } else {
                    print("OK reply recorded on \(ticketID); the customer sees it when connected.")
                }
            case "note":
                let ticketID = try id("note ID \"text\" --as NAME")
                try work.note(ticketID, text: try text("note ID \"text\" --as NAME"), now: now)
                print("OK note added to \(ticketID).")
            case "transfer":
                let ticketID = try id("transfer ID --to NAME --as NAME")
                guard let to = args[Self.to] else { throw UsageError(message: "transfer needs --to NAME.", command: name) }
                try work.transfer(ticketID, to: to, now: now)
                print("OK \(ticketID) transferred to \(to).")
            case "release":
                let ticketID = try id("release ID --as NAME")
                try work.release(ticketID, now: now)
                print("OK \(ticketID) is waiting again.")
            case "resolve":
                let ticketID = try id("resolve ID [--note \"…\"] --as NAME")
                try work.resolve(ticketID, note: args[note], now: now)
                print("OK \(ticketID) resolved; the customer will be asked for a rating.")
            default:
                break
            }
        } catch let error as TicketError {
            throw CommandFailure(message: error.description)
        }
        return 0
    }
}

/// `kefu agent --connect`: the same verbs, sent over the agent protocol to a running server.
enum RemoteAgent {
    static func run(verb: String, rest: [String], args: ParsedArguments, address text: String) throws -> Int32 {
        guard let address = Socket.Address(text) else {
            throw UsageError(message: "--connect takes HOST:PORT, not '\(text)'.", command: AgentCommand.name)
        }
        let agent = args[AgentCommand.asAgent] ?? ProcessInfo.processInfo.environment["KEFU_AGENT"] ?? ProcessInfo.processInfo.environment["USER"] ?? "agent"
        let password = try self.password(for: agent, args: args)
        var command: String
        switch verb {
        case "list": command = "LIST"
        case "next": command = "NEXT"
        case "show", "claim", "release":
            guard let id = rest.first else { throw UsageError(message: "usage: kefu agent \(verb) ID --connect ADDR:PORT", command: AgentCommand.name) }
            command = "\(verb.uppercased()) \(id)"
        case "reply", "note":
            guard rest.count >= 2 else { throw UsageError(message: "usage: kefu agent \(verb) ID \"text\" --connect ADDR:PORT", command: AgentCommand.name) }
            command = "\(verb.uppercased()) \(rest[0]) \(rest.dropFirst().joined(separator: " "))"
        case "transfer":
            guard let id = rest.first, let to = args[AgentCommand.to] else { throw UsageError(message: "usage: kefu agent transfer ID --to NAME --connect ADDR:PORT", command: AgentCommand.name) }
            command = "TRANSFER \(id) \(to)"
        case "resolve":
            guard let id = rest.first else { throw UsageError(message: "usage: kefu agent resolve ID [--note …] --connect ADDR:PORT", command: AgentCommand.name) }
            command = "RESOLVE \(id)" + (args[AgentCommand.note].map { " \($0)" } ?? "")
        default:
            command = verb.uppercased()
        }
        let client: LineClient
        do { client = try LineClient(address) } catch {
            throw CommandFailure(message: "cannot reach kefu serve at \(address): \(error). Is it running, and is this its agent port?")
        }
        defer { client.close() }
        let auth = try client.request("AUTH \(agent) \(password)")
        guard auth.first?.hasPrefix("OK") == true else {
            var message = "the server refused the login as \(agent): \(auth.joined(separator: " "))"
            if auth.first == "ERR authentication failed" {
                message += ". Check the name and the password; an administrator can set a new one with `kefu agent passwd \(agent)`"
            }
            throw CommandFailure(message: message)
        }
        let answer = try client.request(command.replacingOccurrences(of: "\n", with: " "), multiline: verb == "list" || verb == "show")
        guard let status = answer.first, status.hasPrefix("OK") else { throw CommandFailure(message: answer.first ?? "no answer") }
        let body = answer.dropFirst()
        if verb == "list" && args.has(AgentCommand.json) {
            print("[" + body.joined(separator: ",") + "]")
        } else if verb == "list" || verb == "show" {
            body.forEach { print(LineSanitizer.clean($0)) }
        } else {
            print(LineSanitizer.clean(status))
        }
        return 0
    }
}

extension RemoteAgent {
    /// The password for `--connect`: from `--password-file`, else `$KEFU_AGENT_PASSWORD`.
    /// There is deliberately no `--password`: a command line is visible to every user of the
    /// machine (`ps`) and lands in shell history.
    static func password(for agent: String, args: ParsedArguments) throws -> String {
        if let file = args[AgentCommand.passwordFile] {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure(message: "cannot read the password file \(file); check the path and that you may read it")
            }
            let password = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            guard !password.isEmpty else { throw CommandFailure(message: "the password file \(file) is empty; put \(agent)'s password on its first line") }
            return password
        }
        if let password = ProcessInfo.processInfo.environment["KEFU_AGENT_PASSWORD"], !password.isEmpty { return password }
        throw CommandFailure(message: "no password for \(agent): pass --password-file FILE or set KEFU_AGENT_PASSWORD (an administrator creates accounts with `kefu agent add NAME`)")
    }
}
