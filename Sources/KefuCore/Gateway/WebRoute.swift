/// The paths of the HTTP channel (docs/HTTP.md), matched from a request's decoded segments.
enum WebRoute: Equatable {
    case root, chatPage, agentPage, health
    case newConversation, messages
    case history(conversation: String)
    case events(conversation: String)
    case customerSocket, agentSocket

    /// The route of `segments` (empty ones, from a trailing slash, ignored) and the method it
    /// takes, or nil for a path that does not exist (404).
    static func match(_ segments: [String]) -> (route: WebRoute, method: String)? {
        let s = segments.filter { !$0.isEmpty }
        switch s.count {
        case 0: return (.root, "GET")
        case 1 where s[0] == "chat": return (.chatPage, "GET")
        case 1 where s[0] == "agent": return (.agentPage, "GET")
        case 2 where s[0] == "v1":
            switch s[1] {
            case "health": return (.health, "GET")
            case "conversations": return (.newConversation, "POST")
            case "messages": return (.messages, "POST")
            case "ws": return (.customerSocket, "GET")
            default: return nil
            }
        case 3 where s[0] == "v1" && s[1] == "agent" && s[2] == "ws": return (.agentSocket, "GET")
        case 4 where s[0] == "v1" && s[1] == "conversations":
            switch s[3] {
            case "messages": return (.history(conversation: s[2]), "GET")
            case "events": return (.events(conversation: s[2]), "GET")
            default: return nil
            }
        default: return nil
        }
    }
}
