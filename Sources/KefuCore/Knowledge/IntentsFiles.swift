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
    /// The name shown to English-speaking customers (`name_en`); nil: `name`.
    public var englishName: String? = nil
    /// Products of the company (`products`): a danger that names one of them (a water heater
    /// that smells of gas) belongs to this topic, still handed off for safety.
    public var products: [String] = []
}

/// Other companies, platforms and banks (`Intents/others.txt`): a message that names one and
/// neither this company nor one of its products asks about that company's business.
public struct OtherCompanies: Sendable, Equatable {
    /// 淘宝, 招商银行, Netflix …
    public var names: [String] = []
    /// Words that say the message is about this company after all (你们, 贵行, your).
    public var ours: [String] = []
    public init() {}
}

/// Values that answers refer to as `{key}`: the hotline, the hours, the app's name.
/// One place for an editor to change them.
public struct CompanyProfile: Sendable, Equatable {
    public let values: [String: String]
    /// English forms of values written in Chinese (`[company.en]`: the app's name, the hours),
    /// for English answers and phrases; a value without one is the same in both.
    public let english: [String: String]
    /// `values` with the English forms in their place, merged once.
    private let englishValues: [String: String]

    public init(values: [String: String], english: [String: String] = [:]) {
        self.values = values
        self.english = english
        englishValues = english.isEmpty ? values : values.merging(english) { $1 }
    }

    public subscript(key: String) -> String? { values[key] }

    /// The profile an English reply is filled from.
    public var inEnglish: CompanyProfile { CompanyProfile(values: englishValues) }

    /// Replaces every `{key}` in `text`; unknown keys are left visible rather than dropped.
    ///
    /// A space written beside a placeholder is dropped when the value starts or ends with a
    /// Chinese character (「服务时间为 {human_hours}」 reads 「服务时间为每天…」), and kept
    /// before Latin text and digits (「拨打 400-…」).
    public func fill(_ text: String, extra: [String: String] = [:]) -> String {
        var result = ""
        var rest = Substring(text)
        var dropLeadingSpace = false
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            var before = rest[..<open]
            if dropLeadingSpace, before.first == " ", !Self.isLatinWord(before.dropFirst().unicodeScalars.first) { before = before.dropFirst() }
            let key = String(rest[rest.index(after: open)..<close])
            let value = extra[key] ?? values[key] ?? "{\(key)}"
            // In English text (「log in to {app_name}」) the space stays.
            if before.last == " ", value.unicodeScalars.first.map(Self.isHan) == true, !Self.isLatinWord(before.dropLast().unicodeScalars.last) { before = before.dropLast() }
            if before.isEmpty, result.last == " ", value.unicodeScalars.first.map(Self.isHan) == true, !Self.isLatinWord(result.dropLast().unicodeScalars.last) { result.removeLast() }
            result += before
            result += value
            dropLeadingSpace = value.unicodeScalars.last.map(Self.isHan) == true
            rest = rest[rest.index(after: close)...]
        }
        if dropLeadingSpace, rest.first == " ", !Self.isLatinWord(rest.dropFirst().unicodeScalars.first) { rest = rest.dropFirst() }
        return result + rest
    }

    /// A letter or digit of Latin text, or a comma or full stop ending an English clause.
    private static func isLatinWord(_ s: Unicode.Scalar?) -> Bool {
        guard let s, s.value < 0x80 else { return false }
        return s.properties.isAlphabetic || (0x30...0x39).contains(s.value) || s == "," || s == "." || s == ";" || s == ":"
    }

    static func isHan(_ s: Unicode.Scalar) -> Bool { (0x3400...0x9FFF).contains(s.value) || (0xF900...0xFAFF).contains(s.value) }

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

/// A reply an agent can pick in the console instead of typing it (`Intents/canned.txt`):
/// the centre's standard wording for the moments every case has.
public struct CannedReply: Sendable, Equatable {
    public let title: String
    /// With the company profile's values filled in.
    public let text: String
    /// `zh` or `en`: the section it came from.
    public let language: String
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
                           "rating_again", "too_long", "unreadable", "acknowledged", "ack_open", "nothing_else_reply",
                           "complaint_withdrawn", "queue_withdrawn", "queue_position", "queue_still_waiting", "queue_noted",
                           "agent_away", "safety_escalated", "already_answered", "covered_above", "answer_in_chinese", "other_reading"]
    /// English forms (`[phrases.en]`) are stored under this prefix; a missing one falls back to Chinese.
    static let englishPrefix = "en:"
    /// Placeholders the bot fills in at run time, on top of the company profile.
    static let runtimePlaceholders: Set<String> = ["ticket", "position", "wait", "human_open", "topics", "choices", "question", "other"]
}
