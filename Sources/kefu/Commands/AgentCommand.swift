import Foundation
import KefuCore

/// `kefu agent`: agents work through the handoff queue in the data folder.
enum AgentCommand {
    static let name = "agent"
    static let summary = "list, claim, answer and resolve handed-off cases"
    static let help = """
    Usage: kefu agent <verb> [arguments] [--data DIR] [--as NAME] [--json]

    Verbs:
      list [--json]                  waiting and claimed tickets, most urgent first
      show ID [--json]               everything in a ticket; numbers stay masked unless
                                     --as NAME is the agent who holds the ticket
      claim ID --as NAME             take a ticket
      next --as NAME                 take the most urgent waiting ticket
      reply ID "text" --as NAME      answer the customer (delivered when they are connected)
      note ID "text" --as NAME       an internal note
      transfer ID --to NAME --as NAME  hand a ticket to another agent
      release ID --as NAME           put a claimed ticket back in the queue
      resolve ID [--note "…"] --as NAME  close the case; the bot asks the customer for a rating

    Options:
      --data DIR    the data folder (default: $KEFU_DATA or ./.kefu)
      --as NAME     the agent doing it (default: $KEFU_AGENT or $USER)
      --json        machine-readable output (list: one array; show: one object)

    Example:
      kefu agent next --as 张三 && kefu agent reply T000001 "您好，我来帮您处理" --as 张三
    """
    static let verbs = ["list", "show", "claim", "next", "reply", "note", "transfer", "release", "resolve"]
    static let options = [DataOptions.spec, OptionSpec(name: "--as", takesValue: true), OptionSpec(name: "--to", takesValue: true),
                          OptionSpec(name: "--note", takesValue: true), OptionSpec(name: "--json", takesValue: false)]

    static func run(_ arguments: [String]) throws -> Int32 {
        let args = try ParsedArguments.parse(arguments, options: options, command: name)
        guard let verb = args.positionals.first else {
            throw UsageError(message: "give a verb: \(verbs.joined(separator: ", ")).", command: name)
        }
        guard verbs.contains(verb) else {
            var message = "unknown verb '\(verb)'."
            if let near = closest(verb, among: verbs) { message += " Did you mean '\(near)'?" }
            throw UsageError(message: message, command: name)
        }
        let rest = Array(args.positionals.dropFirst())
        let desk = try DataOptions.open(args)
        let store = desk.tickets
        let agent = args.value("--as") ?? ProcessInfo.processInfo.environment["KEFU_AGENT"] ?? ProcessInfo.processInfo.environment["USER"] ?? "agent"
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
                let queue = store.queue()
                if args.has("--json") {
                    print(jsonLine(queue.map { TicketJSON.listing($0, now: now) }))
                } else if queue.isEmpty {
                    print("No open tickets.")
                } else {
                    for t in queue {
                        let who = t.assignee.map { "claimed by \($0)" } ?? "waiting"
                        print("\(t.id)  p\(t.priority)  \(t.reason.rawValue)  \(who)  waited \(TicketJSON.duration(now.timeIntervalSince(t.created)))  \(t.customer)/\(t.channel)")
                        print("         \(t.summary)")
                    }
                }
            case "show":
                let ticketID = try id("show ID")
                guard let t = store.ticket(ticketID) else { throw TicketError.unknown(ticketID) }
                let unmasked = args.value("--as") != nil && t.assignee == agent
                if args.has("--json") {
                    print(jsonLine(TicketJSON.full(t, now: now, unmasked: unmasked)))
                } else {
                    print(TicketJSON.text(t, now: now, unmasked: unmasked))
                }
            case "claim":
                let t = try store.claim(try id("claim ID --as NAME"), agent: agent, now: now)
                print("OK \(t.id) claimed by \(agent). \(t.summary)")
            case "next":
                guard let t = try store.claimNext(agent: agent, now: now) else {
                    print("No ticket is waiting.")
                    return 0
                }
                print("OK \(t.id) claimed by \(agent) (\(t.reason.rawValue), priority \(t.priority)). \(t.summary)")
            case "reply":
                let ticketID = try id("reply ID \"text\" --as NAME")
                try store.reply(ticketID, agent: agent, text: try text("reply ID \"text\" --as NAME"), now: now)
                print("OK reply recorded on \(ticketID); the customer sees it when connected.")
            case "note":
                let ticketID = try id("note ID \"text\" --as NAME")
                try store.note(ticketID, agent: agent, text: try text("note ID \"text\" --as NAME"), now: now)
                print("OK note added to \(ticketID).")
            case "transfer":
                let ticketID = try id("transfer ID --to NAME --as NAME")
                guard let to = args.value("--to") else { throw UsageError(message: "transfer needs --to NAME.", command: name) }
                try store.transfer(ticketID, from: agent, to: to, now: now)
                print("OK \(ticketID) transferred to \(to).")
            case "release":
                let ticketID = try id("release ID --as NAME")
                try store.release(ticketID, agent: agent, now: now)
                print("OK \(ticketID) is waiting again.")
            case "resolve":
                let ticketID = try id("resolve ID [--note \"…\"] --as NAME")
                try store.resolve(ticketID, agent: agent, note: args.value("--note"), now: now)
                print("OK \(ticketID) resolved; the customer will be asked for a rating.")
            default:
                break
            }
        } catch let error as TicketError {
            throw CommandFailure(message: error.description)
        }
        if verb != "list" && verb != "show" { try recordAction(verb, id: rest.first, agent: agent, desk: desk, now: now) }
        return 0
    }

    static func recordAction(_ verb: String, id: String?, agent: String, desk: ServiceDesk, now: Date) throws {
        var event = ServiceEvent(kind: .agentAction, time: now)
        event.agent = agent
        event.action = verb
        event.ticket = verb == "next" ? desk.tickets.queue().last(where: { $0.assignee == agent })?.id : id
        if let t = event.ticket.flatMap(desk.tickets.ticket) {
            event.conversation = t.conversation
            event.customer = t.customer
            event.reason = t.reason.rawValue
        }
        try desk.events.record(event)
    }
}
