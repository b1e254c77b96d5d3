import Foundation

/// The line protocols of one connection (docs/PROTOCOL.md), without the socket: a complete
/// line in, what it means out — an engine input, or a refusal in the protocol's own words —
/// and the words for the server's goodbyes. Customers speak plain lines or JSON Lines (the
/// first line decides); agents speak the agent protocol. The gateway frames the bytes and
/// enforces the limits; everything a client is told about its lines is worded here, so it can
/// be tested line by line.
struct LineCodec {
    enum Role { case customer, agent }
    enum Mode { case unknown, plain, json }

    /// Why a line is refused.
    enum Refusal: Equatable {
        case tooLong, unreadable, tooFast, badJSON
        /// Plain `/id` or `/resume` after the connection's customer is settled.
        case identityNotFirst
        /// A `/id` label or a JSON `customer` or `session` that cannot be an id.
        case badID(field: String, CustomerID.Problem)
        /// JSON: `customer` or `session` is not a string.
        case notText(field: String)
        /// JSON: `{"auth": …}` after the first line.
        case authNotFirst
    }

    /// What a line means.
    enum Reading {
        case input(GatewayInput)
        case refused(Refusal)
        /// `{"auth": …}` with the right token: the connection speaks for the integration now.
        case authenticated
        /// `{"auth": …}` with a wrong token (or none configured): the connection is closed.
        case authenticationFailed(reply: String)
        /// Nothing to do (a blank line).
        case nothing
    }

    let role: Role
    private(set) var mode = Mode.unknown
    /// Plain mode: the connection's customer is settled (by `/id`, `/resume` or a first
    /// message), so `/id` and `/resume` are refused from now on.
    private(set) var identified = false
    /// JSON Lines mode: authenticated as the integration, so the customers it names are trusted.
    private(set) var integration = false
    let maxLineBytes: Int
    let integrationToken: String?
    /// The plain protocol's wording for refused lines: the knowledge base's standard phrases,
    /// the same `kefu chat` uses for the same input.
    var phrases: [String: String]

    init(role: Role, maxLineBytes: Int, integrationToken: String?, phrases: [String: String]) {
        self.role = role
        self.maxLineBytes = maxLineBytes
        self.integrationToken = integrationToken
        self.phrases = phrases
    }

    /// Reads one line (without its line break) received at `received` on `connection`.
    mutating func read(_ raw: ArraySlice<UInt8>, connection: Int, received: UInt64) -> Reading {
        var bytes = raw
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        guard let text = String(validating: bytes, as: UTF8.self), !Self.hasControlCharacters(text) else {
            return .refused(.unreadable)
        }
        let line = text.trimmingSpaces
        if line.isEmpty { return .nothing }
        if role == .agent { return .input(.agent(connection: connection, line: line, received: received)) }
        let first = mode == .unknown
        if first {
            let opening = line.hasPrefix("{") ? Self.jsonObject(line) : nil
            mode = opening?["session"] != nil || opening?["auth"] != nil ? .json : .plain
        }
        return mode == .plain ? plainLine(line, connection: connection, received: received)
            : jsonLine(line, first: first, connection: connection, received: received)
    }

    /// Plain mode: a message, or as the first line `/id LABEL` or `/resume CODE`.
    private mutating func plainLine(_ line: String, connection: Int, received: UInt64) -> Reading {
        func argument(of command: String) -> String? {
            guard line == command || line.hasPrefix(command + " ") || line.hasPrefix(command + "\t") else { return nil }
            return line.dropFirst(command.count).trimmingCharacters(in: .whitespaces)
        }
        if let label = argument(of: "/id") {
            guard !identified else { return .refused(.identityNotFirst) }
            // A refused label settles nothing: the client may send a corrected one.
            if let problem = CustomerID.problem(label) { return .refused(.badID(field: "id", problem)) }
            identified = true
            return .input(.identify(connection: connection, speaker: .plain(label: label), received: received))
        }
        if let code = argument(of: "/resume") {
            guard !identified else { return .refused(.identityNotFirst) }
            // One guess per connection: a wrong code settles the connection as a new customer.
            identified = true
            return .input(.resume(connection: connection, speaker: .plain(label: nil), code: code, received: received))
        }
        identified = true
        return .input(.customer(connection: connection, speaker: .plain(label: nil), text: line, received: received))
    }

    /// JSON Lines mode: `{"auth": TOKEN}` as the first line, then session objects.
    private mutating func jsonLine(_ line: String, first: Bool, connection: Int, received: UInt64) -> Reading {
        guard let object = Self.jsonObject(line) else { return .refused(.badJSON) }
        if let token = object["auth"] {
            guard first else { return .refused(.authNotFirst) }
            return authenticate(token as? String)
        }
        guard let session = object["session"] as? String else { return .refused(object["session"] == nil ? .badJSON : .notText(field: "session")) }
        if let problem = CustomerID.problem(session) { return .refused(.badID(field: "session", problem)) }
        var customer = session
        if let named = object["customer"] {
            guard let name = named as? String else { return .refused(.notText(field: "customer")) }
            if !name.isEmpty {
                if let problem = CustomerID.problem(name) { return .refused(.badID(field: "customer", problem)) }
                customer = name
            }
        }
        let speaker = Speaker.session(session, customer: customer, trusted: integration)
        if let code = object["resume"] as? String {
            return .input(.resume(connection: connection, speaker: speaker, code: code, received: received))
        }
        if let message = object["text"] as? String, !message.trimmingSpaces.isEmpty {
            if message.utf8.count > maxLineBytes { return .refused(.tooLong) }
            return .input(.customer(connection: connection, speaker: speaker, text: message, received: received))
        }
        return .input(.identify(connection: connection, speaker: speaker, received: received))
    }

    /// Checks the integration token in constant time; a wrong one closes the connection, so
    /// each guess costs the guesser a connection.
    private mutating func authenticate(_ token: String?) -> Reading {
        if let expected = integrationToken, let token, constantTimeEqual(Array(token.utf8), Array(expected.utf8)) {
            integration = true
            return .authenticated
        }
        let why = integrationToken == nil ? "this server has no integration token configured" : "wrong integration token"
        return .authenticationFailed(reply: ServiceEngine.json(["error": why + "; use $KEFU_INTEGRATION_TOKEN or the integration-token file in the server's data folder"]) + "\n")
    }

    /// The line that tells the client why its line was refused.
    func refusal(_ why: Refusal) -> String {
        switch (role, mode, why) {
        case (.agent, _, .tooLong): return "ERR line too long (limit \(maxLineBytes) bytes)\n"
        case (.agent, _, .tooFast): return "ERR too many lines; slow down\n"
        case (.agent, _, _): return "ERR unreadable line: send UTF-8 text\n"
        case (_, .json, let why):
            let message = switch why {
            case .tooLong: "line too long (limit \(maxLineBytes) bytes)"
            case .unreadable: "not valid UTF-8 text"
            case .tooFast: "too many messages; slow down"
            case .badJSON, .identityNotFirst: "each line must be a JSON object with a \"session\" key"
            case .badID(let field, let problem): IdentityNotice.badIDJSON(field, problem)
            case .notText(let field): "\(field) must be a JSON string"
            case .authNotFirst: "{\"auth\": …} is accepted only as the first line; open a new connection to authenticate"
            }
            return ServiceEngine.json(["error": message]) + "\n"
        case (_, _, .tooLong): return block(phrases["too_long"], "message too long")
        case (_, _, .tooFast): return "您发送得太快了，请稍等片刻再发。(too many messages, slow down)\n\n"
        case (_, _, .identityNotFirst): return IdentityNotice.notFirstLine + "\n\n"
        case (_, _, .badID(_, let problem)): return IdentityNotice.badID(problem) + "\n\n"
        case (_, _, _): return block(phrases["unreadable"], "unreadable message")
        }
    }

    /// A plain reply block: the standard phrase, the English reason in brackets, the empty line.
    private func block(_ phrase: String?, _ english: String) -> String {
        "\(phrase ?? "抱歉，这条消息无法处理。")(\(english))\n\n"
    }

    /// The reply to a successful `{"auth": …}`.
    static let authenticatedReply = ServiceEngine.json(["type": "authenticated"]) + "\n"

    /// The server's last words before it closes the connection.
    enum Goodbye {
        case lineTimeout(seconds: Int), idle, shuttingDown

        var reason: String {
            switch self {
            case .lineTimeout(let seconds): "line not finished within \(seconds) seconds"
            case .idle: "idle timeout"
            case .shuttingDown: "server shutting down"
            }
        }
    }

    func goodbye(_ why: Goodbye) -> String {
        if role == .agent { return "* BYE \(why.reason)\n" }
        if mode == .json { return ServiceEngine.json(["type": "goodbye", "reason": why.reason]) + "\n" }
        let words = switch why {
        case .lineTimeout(let seconds): "您的消息在 \(seconds) 秒内没有发送完整，连接已关闭，请重新连接。"
        case .idle: "您已长时间未发送消息，连接已关闭，欢迎随时回来。"
        case .shuttingDown: "服务即将维护，连接将关闭，请稍后重新连接。"
        }
        return "\(words)(\(why.reason))\n\n"
    }

    /// Whether a line holds a control character other than tab (a line break inside it, NUL,
    /// DEL …): such a line is refused whole, on every channel that carries lines.
    static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }
    }

    static func jsonObject(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}
