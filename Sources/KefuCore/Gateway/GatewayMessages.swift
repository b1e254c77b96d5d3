import Foundation

/// Who a customer line says it is from, and whether the connection can vouch for it; the
/// engine's `CustomerDirectory` turns it into the customer's key.
enum Speaker: Sendable {
    /// A plain connection: one customer, whom a first line `/id LABEL` may label.
    case plain(label: String?)
    /// A session on a JSON Lines connection, for the customer the line names (the session
    /// when it names none); `trusted` once the connection authenticated as the integration.
    case session(String, customer: String, trusted: Bool)
    /// A conversation on the HTTP channel, whose customer key the channel settled from the
    /// caller's token (`CustomerKey.web` or `.integration`); `conversation` and `customer` are
    /// the names the client uses, echoed in its items.
    case web(key: String, conversation: String, customer: String?)

    /// The channel recorded with the conversation.
    var channel: String {
        switch self {
        case .plain: "tcp"
        case .session: "json"
        case .web: "web"
        }
    }
}

/// A line from a connection, handed from the I/O thread to the engine.
enum GatewayInput: Sendable {
    /// A customer's message.
    case customer(connection: Int, speaker: Speaker, text: String, received: UInt64)
    /// A customer's message on the HTTP channel (a request or a WebSocket message on
    /// `connection`): the same as `customer`, and the message itself becomes an item of the
    /// conversation, with the client's id for it.
    case webMessage(connection: Int, speaker: Speaker, text: String, clientMessageID: String, received: UInt64)
    /// A customer says who they are without a message (plain `/id LABEL`, or a JSON line without text).
    case identify(connection: Int, speaker: Speaker, received: UInt64)
    /// A customer comes back with the resume code they were given at handoff.
    case resume(connection: Int, speaker: Speaker, code: String, received: UInt64)
    /// A web customer is typing, or has seen the agent's replies: told to the agent who has
    /// the case, and to nobody while the bot serves.
    case customerSignal(connection: Int, speaker: Speaker, signal: CustomerSignal)
    case customerGone(connection: Int)
    /// An agent connection was accepted from `address` (the client's IP, for login throttling).
    case agentConnected(connection: Int, address: String)
    case agent(connection: Int, line: String, received: UInt64)
    /// The authenticator checked an `AUTH`.
    case login(AgentAuthenticator.Result)
    case agentGone(connection: Int)
    case reload(KnowledgeBase)
    /// Once a second from the I/O loop, so the engine ends idle conversations even when no
    /// line arrives.
    case tick
    /// An instance sharing the queue announced news on a ticket (`LiveRelay`).
    case relayed(RelayNotice)
}

/// What a web customer's page tells the agent without a message.
enum CustomerSignal: Sendable, Equatable {
    case typing
    /// The customer's page showed the items up to this one.
    case read(seq: Int)
}

/// Bytes for a connection, handed from the engine back to the I/O thread.
struct GatewayOutput: Sendable {
    let connection: Int
    let bytes: [UInt8]
    /// Close the connection once these bytes are written.
    var close = false
    /// When the line this answers arrived (monotonic ns), for reply latency; nil for pushes.
    var received: UInt64?
    /// An item of a web conversation (a JSON object without `seq`) for the feed of this
    /// customer key: the gateway numbers it, keeps it for catching up, sends it to the
    /// conversation's subscribers and, when `connection` is a request waiting for its
    /// reply, answers the request with it. Never written to `connection` as it is.
    var feed: String?
    /// The client's id of the web message this item answers (the customer's own item and the
    /// reply to it), so a retried request gets the same items.
    var answers: String?
}

/// What the gateway tells a customer about their identity, in the plain protocol's words
/// (Chinese, then English in brackets) or as a JSON Lines error.
enum IdentityNotice {
    /// Added to the handoff reply on an anonymous plain connection.
    static func resumeHint(_ code: ResumeCode) -> String {
        "如需稍后继续，请在重新连接时首先发送：/resume \(code)（请妥善保管，凭此码可查看客服回复）(to continue later, send this as the first line when you reconnect; keep it private)"
    }

    static let unknownCode = "抱歉，这个续接码无效或已过期，已为您开始新的对话。(unknown or expired resume code; a new conversation has started)"
    static let unknownCodeJSON = "unknown or expired resume code; this session continues as a new conversation"

    static let notFirstLine = "/id 和 /resume 只能作为连接后的第一行发送，如需使用请重新连接。(/id and /resume are accepted only as the first line; reconnect to use them)"

    static func badID(_ problem: CustomerID.Problem) -> String {
        switch problem {
        case .empty: "请在 /id 后写上您的称呼，例如：/id 张三 (usage: /id NAME)"
        case .tooLong, .unprintable:
            "称呼最多 \(CustomerID.maxLength) 个字符，且不能含有控制字符或换行，请重新发送 /id 称呼。(an id is at most \(CustomerID.maxLength) printable characters; send /id NAME again)"
        }
    }

    static func badIDJSON(_ field: String, _ problem: CustomerID.Problem) -> String {
        switch problem {
        case .empty: "\(field) must not be empty"
        case .tooLong, .unprintable: "\(field) must be at most \(CustomerID.maxLength) printable characters (no control characters, line breaks or invisible formatting)"
        }
    }
}

/// Counters the gateway keeps for `STATS`.
final class GatewayCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies = [Double](repeating: 0, count: 8192)
    private var latencyCount = 0
    private(set) var messages = 0
    var customerConnections = 0
    var agentConnections = 0

    func recordReply(latencyMicroseconds: Double) {
        lock.withLock {
            latencies[latencyCount % latencies.count] = latencyMicroseconds
            latencyCount += 1
        }
    }

    func countMessage() { lock.withLock { messages += 1 } }

    /// New sessions a JSON connection was refused because it held its limit.
    private(set) var sessionsRefused: Int {
        get { lock.withLock { refusedSessions } }
        set { lock.withLock { refusedSessions = newValue } }
    }
    private var refusedSessions = 0
    func countSessionRefused() { sessionsRefused += 1 }

    /// Times `accept` failed (out of descriptors) and the listeners rested.
    private(set) var acceptFailures: Int {
        get { lock.withLock { failedAccepts } }
        set { lock.withLock { failedAccepts = newValue } }
    }
    private var failedAccepts = 0
    func countAcceptFailure() { acceptFailures += 1 }

    /// Events the event log could not take since the server started, and since when.
    private(set) var unrecorded: (count: Int, since: Date?) {
        get { lock.withLock { lostEvents } }
        set { lock.withLock { lostEvents = newValue } }
    }
    private var lostEvents: (count: Int, since: Date?) = (0, nil)
    func countUnrecorded(_ n: Int, at time: Date) { unrecorded = (unrecorded.count + n, unrecorded.since ?? time) }

    /// p50 and p99 reply latency over the last 8,192 replies, in milliseconds.
    func latencyPercentiles() -> (p50: Double, p99: Double) {
        lock.withLock {
            let n = min(latencyCount, latencies.count)
            guard n > 0 else { return (0, 0) }
            let sorted = latencies[0..<n].sorted()
            return (Measure.quantile(Array(sorted), 0.5) / 1000, Measure.quantile(Array(sorted), 0.99) / 1000)
        }
    }

    func connections(customer: Int, agent: Int) { lock.withLock { customerConnections = customer; agentConnections = agent } }
    func snapshot() -> (customers: Int, agents: Int, messages: Int) { lock.withLock { (customerConnections, agentConnections, messages) } }
}


extension String {
    /// The text without leading and trailing spaces and tabs (`CharacterSet.whitespaces`:
    /// tab and every space separator, the ideographic space too). Most lines have none and
    /// come back as they are, without the trip through `NSString` that `trimmingCharacters`
    /// takes on every line.
    var trimmingSpaces: String {
        let isSpace = { (s: Unicode.Scalar) in s == "\t" || s == " " || (s.value >= 0x80 && s.properties.generalCategory == .spaceSeparator) }
        let scalars = unicodeScalars
        guard let first = scalars.first, let last = scalars.last, isSpace(first) || isSpace(last) else { return self }
        guard let start = scalars.firstIndex(where: { !isSpace($0) }), let end = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[start...end])
    }
}
