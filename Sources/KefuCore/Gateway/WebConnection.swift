/// What an HTTP connection is and has become: a keep-alive connection of requests, an event
/// stream, or a WebSocket of a customer's conversation or of an agent. Loop thread only.
final class WebConnection {
    enum Mode {
        case requests
        /// Server-Sent Events of the conversation with this customer key.
        case events(key: String)
        /// A customer's WebSocket on the conversation with this speaker.
        case customerSocket(Speaker)
        /// The agent protocol over a WebSocket.
        case agentSocket
    }

    var mode = Mode.requests
    /// Reads requests until the connection becomes a stream or a socket; then let go, so an
    /// idle WebSocket holds no request buffers (memory per idle socket is a figure we keep low).
    var parser: HTTPRequestParser?
    /// Reads frames once the connection is a WebSocket.
    var socket: WebSocketParser?
    /// A request is being answered by the engine; the next must wait for its answer.
    var inFlight = false
    /// Whether the connection stays open after the answer in flight.
    var keepAlive = true
    /// A request came while one was in flight: after the answer, it is refused and the
    /// connection closed (pipelining is not supported).
    var pipelined = false
    /// When the server last sent a stream something (monotonic ns), for keep-alives.
    var lastSent: UInt64 = 0

    init(limits: HTTPLimits) {
        parser = HTTPRequestParser(limits: limits)
    }

    var isSocket: Bool {
        switch mode {
        case .customerSocket, .agentSocket: true
        default: false
        }
    }

    var isAgentSocket: Bool {
        if case .agentSocket = mode { return true }
        return false
    }

    /// The customer key of the conversation this connection follows, if any.
    var subscription: String? {
        switch mode {
        case .events(let key): key
        case .customerSocket(.web(let key, _, _)): key
        default: nil
        }
    }
}

/// The items answering web messages in one delivery, by conversation and client message id,
/// so each waiting request is answered once with all of them.
struct WebAnswers {
    private(set) var order: [(key: String, id: String)] = []
    private(set) var items: [String: [WebFeeds.Item]] = [:]

    mutating func add(_ item: WebFeeds.Item, key: String, id: String) {
        let slot = key + "\u{0}" + id
        if items[slot] == nil { order.append((key, id)) }
        items[slot, default: []].append(item)
    }

    func items(key: String, id: String) -> [WebFeeds.Item] { items[key + "\u{0}" + id] ?? [] }
}
