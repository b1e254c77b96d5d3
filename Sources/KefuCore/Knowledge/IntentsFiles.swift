/// A canonical topic and what to do when a message belongs to it.
public struct Topic: Sendable, Equatable {
    public let id: String
    /// Shown to customers in choices (「退货退款」).
    public let name: String
    /// `handoff` topics (a request for a person, a complaint) always go to a person.
    public let route: Route
    public let handoffReason: HandoffReason?
    /// Short examples for "here is what I can help with".
    public let examples: [String]
}

/// Values that answers refer to as `{key}`: the hotline, the hours, the app's name.
/// One place for an editor to change them.
public struct CompanyProfile: Sendable, Equatable {
    public let values: [String: String]

    public subscript(key: String) -> String? { values[key] }

    /// Replaces every `{key}` in `text`; unknown keys are left visible rather than dropped.
    public func fill(_ text: String, extra: [String: String] = [:]) -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            result += rest[..<open]
            let key = String(rest[rest.index(after: open)..<close])
            result += extra[key] ?? values[key] ?? "{\(key)}"
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// The `{key}` placeholders in `text`.
    static func placeholders(in text: String) -> [String] {
        var keys: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            keys.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return keys
    }
}

/// The centre's standard phrases, by key (greeting, apology, closing …).
public struct StandardPhrases: Sendable, Equatable {
    public let values: [String: String]
    public subscript(key: String) -> String { values[key] ?? "" }

    /// Keys the bot uses; a missing one is a load error so the bot never says nothing.
    static let required = ["greeting", "acknowledge", "apology", "empathy", "clarify", "fallback", "handoff",
                           "handoff_after_hours", "confirm", "anything_else", "rating", "closing", "thanks_reply",
                           "choices", "topics", "not_helped", "offer_person", "declined_person", "complaint_facts",
                           "safety_advice", "money_advice", "with_person", "person_resolved", "rating_thanks",
                           "rating_again", "too_long", "unreadable"]
    /// Placeholders the bot fills in at run time, on top of the company profile.
    static let runtimePlaceholders: Set<String> = ["ticket", "position", "wait", "human_open", "topics", "choices"]
}
