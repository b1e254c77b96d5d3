/// The fields a reply carries on a JSON channel beyond its text — the gateway's JSON Lines
/// replies and `kefu chat --json` write the same ones, so an integrator sees one shape.
public enum ReplyJSON {
    /// `route`, `topic`, `entry`, `act`, `ticket`, `emotion`, each only when known.
    public static func fields(_ reply: Reply) -> [String: Any] {
        var object: [String: Any] = [:]
        if let route = reply.route { object["route"] = route.rawValue }
        if let topic = reply.topic { object["topic"] = topic }
        if let entry = reply.entry { object["entry"] = entry }
        if let act = reply.acts.first { object["act"] = act.rawValue }
        if let ticket = reply.ticket { object["ticket"] = ticket.id }
        if let emotion = reply.emotion { object["emotion"] = emotion.rawValue }
        return object
    }

    /// The whole reply as one object: `text` (lines joined by newlines) and `fields`.
    public static func object(_ reply: Reply) -> [String: Any] {
        var object = fields(reply)
        object["text"] = reply.text
        return object
    }
}
