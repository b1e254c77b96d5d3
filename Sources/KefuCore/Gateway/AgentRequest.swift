import Foundation

/// One line of the agent protocol (docs/PROTOCOL.md, Agents), parsed: what the agent asks
/// for, or the answer that says why the line cannot be done. The engine only carries requests
/// out; every channel that speaks the protocol (the agent port, the console's WebSocket)
/// reads lines the same way, and the parsing is tested without a server.
enum AgentRequest: Equatable, Sendable {
    case auth(name: String, password: String)
    case list, next, stats, quit
    case show(String), claim(String), release(String)
    case reply(String, text: String)
    case note(String, text: String)
    case transfer(String, to: String)
    case resolve(String, note: String?)

    enum Problem: Error, Equatable, Sendable {
        /// A known verb with the wrong arguments: the usage to send.
        case usage(String)
        case unknown(verb: String)

        /// The `ERR` line the agent gets.
        var answer: String {
            switch self {
            case .usage(let usage): "ERR usage: \(usage)"
            case .unknown(let verb):
                "ERR unknown command '\(verb.prefix(20))'; commands: AUTH LIST SHOW CLAIM NEXT REPLY NOTE TRANSFER RELEASE RESOLVE STATS QUIT"
            }
        }
    }

    /// The line's first word, upper-cased (verbs are case-insensitive).
    static func verb(of line: String) -> String {
        line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true).first.map { $0.uppercased() } ?? ""
    }

    static func parse(_ line: String) -> Result<AgentRequest, Problem> {
        let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        let verb = verb(of: line)
        let rest = parts.count > 1 ? String(parts[1]) : ""
        let id = rest.trimmingCharacters(in: .whitespaces)
        let (first, remainder) = split(rest)
        switch verb {
        case "QUIT": return .success(.quit)
        case "AUTH":
            let words = rest.split(separator: " ", maxSplits: 1).map(String.init)
            guard words.count == 2 else { return .failure(.usage("AUTH <name> <password>")) }
            return .success(.auth(name: words[0], password: words[1]))
        case "LIST": return .success(.list)
        case "NEXT": return .success(.next)
        case "STATS": return .success(.stats)
        case "SHOW": return .success(.show(id))
        case "CLAIM": return .success(.claim(id))
        case "RELEASE": return .success(.release(id))
        case "REPLY":
            guard !remainder.isEmpty else { return .failure(.usage("REPLY <id> <text>")) }
            return .success(.reply(first, text: remainder))
        case "NOTE": return .success(.note(first, text: remainder))
        case "TRANSFER":
            guard !remainder.isEmpty else { return .failure(.usage("TRANSFER <id> <agent>")) }
            return .success(.transfer(first, to: remainder))
        case "RESOLVE": return .success(.resolve(first, note: remainder.isEmpty ? nil : remainder))
        default: return .failure(.unknown(verb: verb))
        }
    }

    /// The first word and the rest (the rest may hold spaces: a reply's text).
    private static func split(_ text: String) -> (String, String) {
        let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        return (parts.first.map(String.init) ?? "", parts.count > 1 ? String(parts[1]) : "")
    }
}
