import Foundation

/// The HTTP channel on the gateway's loop (docs/HTTP.md): requests become the same engine
/// inputs as lines do, and the engine's items for web conversations come back through
/// `WebFeeds`, which numbers them and hands them to requests, event streams and WebSockets.
/// Everything here runs on the loop thread.
extension Gateway {
    /// Who is calling, from `Authorization: Bearer …` or `?token=`.
    enum WebCaller {
        /// The integration token: names conversations and customers itself.
        case integration
        /// A browser's conversation token: this conversation only.
        case browser(conversation: String)
    }

    // MARK: Reading

    func webBytes(_ c: Connection, _ bytes: ArraySlice<UInt8>, into inputs: inout [GatewayInput]) {
        guard let web = c.web else { return }
        switch web.mode {
        case .events:
            return  // an event stream's client only listens
        case .customerSocket, .agentSocket:
            do {
                for event in try web.socket?.feed(bytes) ?? [] {
                    guard !c.dropped, !c.closeAfterWrite else { return }
                    socketEvent(c, event, into: &inputs)
                }
                // A frame in progress has the line deadline: a trickle never completes one.
                c.lineStarted = (web.socket?.bufferedBytes ?? 0) > 0 ? (c.lineStarted == 0 ? Measure.now() : c.lineStarted) : 0
            } catch {
                closeSocket(c, code: error.closeCode, reason: error.reason)
            }
        case .requests:
            let requests: [HTTPRequest]
            do {
                guard web.parser != nil else { return }
                requests = try web.parser!.feed(bytes)
            } catch {
                respond(c, .error(error), close: true)
                return
            }
            c.lineStarted = web.parser?.hasPartialRequest == true ? (c.lineStarted == 0 ? Measure.now() : c.lineStarted) : 0
            for request in requests {
                guard !c.dropped, !c.closeAfterWrite else { return }
                guard !web.inFlight, case .requests = web.mode else {
                    web.pipelined = true
                    return
                }
                handle(c, request, into: &inputs)
            }
            // A client may send its first frames right behind the handshake.
            if web.isSocket {
                let early = web.parser?.takeUnconsumedBytes() ?? []
                web.parser = nil
                web.socket = WebSocketParser()
                if !early.isEmpty { webBytes(c, early[...], into: &inputs) }
            } else if case .events = web.mode {
                web.parser = nil
            }
        }
    }

    private func handle(_ c: Connection, _ request: HTTPRequest, into inputs: inout [GatewayInput]) {
        guard let web = c.web else { return }
        web.keepAlive = request.keepAlive
        guard let (route, method) = WebRoute.match(request.pathSegments) else {
            respond(c, .error(404, "no such path: \(request.path); see docs/HTTP.md for the endpoints"))
            return
        }
        guard request.method == method || (method == "GET" && request.method == "HEAD" && isPage(route)) else {
            var response = HTTPResponse.error(405, "\(request.path) takes \(method), not \(request.method)")
            response.headers.append(("Allow", method))
            respond(c, response)
            return
        }
        guard allowed(c, warn: false) else {
            respond(c, .error(429, "too many requests on this connection; slow down"))
            return
        }
        if c.countedAsAgent, case .requests = web.mode, route != .agentSocket, route != .agentPage, route != .canned {
            // Admitted on an agent slot while the customers' share is full.
            respond(c, .error(503, "server busy, retry later"), close: true)
            return
        }
        switch route {
        case .root:
            respond(c, HTTPResponse(status: 302, headers: [("Location", "/chat/")], body: []))
        case .chatPage:
            page(c, ChatPage.html, head: request.method == "HEAD")
        case .agentPage:
            page(c, AgentConsolePage.html, head: request.method == "HEAD")
        case .health:
            respond(c, .json(200, Array(#"{"status":"ok"}"#.utf8)))
        case .newConversation:
            let (conversation, token) = webTokens.issue()
            respond(c, .json(201, Array(ServiceEngine.json(["conversation": conversation, "token": token]).utf8)))
        case .messages:
            postMessage(c, request, into: &inputs)
        case .history(let conversation):
            history(c, request, conversation: conversation)
        case .events(let conversation):
            openEvents(c, request, conversation: conversation, into: &inputs)
        case .customerSocket:
            openCustomerSocket(c, request, into: &inputs)
        case .agentSocket:
            openAgentSocket(c, request, into: &inputs)
        case .canned:
            respond(c, .json(200, cannedReplies))
        }
    }

    private func isPage(_ route: WebRoute) -> Bool { route == .chatPage || route == .agentPage }

    // MARK: Identity

    private func caller(_ request: HTTPRequest) -> WebCaller? {
        var presented = request.query["token"]
        if let header = request.header("Authorization") {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { presented = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        guard let token = presented, !token.isEmpty else { return nil }
        if let expected = config.integrationToken, constantTimeEqual(Array(token.utf8), Array(expected.utf8)) { return .integration }
        return webTokens.conversation(openedBy: token).map { .browser(conversation: $0) }
    }

    /// The speaker a caller may be for `conversation` (and `customer`), or why not. The one
    /// place the HTTP channel decides whose conversation a request reaches.
    private func speaker(_ caller: WebCaller, conversation: Any?, customer: Any?) -> Result<Speaker, HTTPError> {
        guard let conversation = conversation as? String else {
            return .failure(HTTPError(status: 400, message: "conversation is required (a string)"))
        }
        if let problem = CustomerID.problem(conversation) {
            return .failure(HTTPError(status: 400, message: IdentityNotice.badIDJSON("conversation", problem)))
        }
        var name: String?
        if let customer, !(customer is NSNull) {
            guard let text = customer as? String else { return .failure(HTTPError(status: 400, message: "customer must be a string")) }
            if !text.isEmpty {
                if let problem = CustomerID.problem(text) { return .failure(HTTPError(status: 400, message: IdentityNotice.badIDJSON("customer", problem))) }
                name = text
            }
        }
        switch caller {
        case .integration:
            return .success(.web(key: CustomerKey.integration(name ?? conversation), conversation: conversation, customer: name))
        case .browser(let opened):
            guard name == nil else {
                return .failure(HTTPError(status: 403, message: "only the integration token may name a customer; a browser speaks for its own conversation"))
            }
            guard conversation == opened else {
                return .failure(HTTPError(status: 403, message: "this token opens another conversation"))
            }
            return .success(.web(key: CustomerKey.web(conversation: opened), conversation: opened, customer: nil))
        }
    }

    private func authorised(_ c: Connection, _ request: HTTPRequest, conversation: Any?, customer: Any?) -> Speaker? {
        guard let caller = caller(request) else {
            respond(c, .error(401, "send Authorization: Bearer TOKEN: the integration token, or the conversation token from POST /v1/conversations"))
            return nil
        }
        switch speaker(caller, conversation: conversation, customer: customer) {
        case .success(let speaker): return speaker
        case .failure(let error):
            respond(c, .error(error.status, error.message))
            return nil
        }
    }

    // MARK: Messages

    private func postMessage(_ c: Connection, _ request: HTTPRequest, into inputs: inout [GatewayInput]) {
        guard let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
            respond(c, .error(400, #"the body must be a JSON object: {"conversation": …, "text": …, "client_message_id": …}"#))
            return
        }
        guard let speaker = authorised(c, request, conversation: body["conversation"], customer: body["customer"]) else { return }
        switch message(text: body["text"], id: body["client_message_id"]) {
        case .failure(let error): respond(c, .error(error.status, error.message))
        case .success(let (text, id)):
            if let error = submit(text, id: id, as: speaker, from: c, waiting: true, into: &inputs) {
                respond(c, .error(error.status, error.message))
            }
        }
    }

    /// A message's text and client id, checked.
    private func message(text: Any?, id: Any?) -> Result<(String, String), HTTPError> {
        guard let text = text as? String, !text.trimmingSpaces.isEmpty else {
            return .failure(HTTPError(status: 400, message: "text is required (a non-empty string)"))
        }
        guard text.utf8.count <= config.maxLineBytes else {
            return .failure(HTTPError(status: 413, message: "text too long (limit \(config.maxLineBytes) bytes); send it in parts"))
        }
        guard let id = id as? String, CustomerID.problem(id) == nil else {
            return .failure(HTTPError(status: 400, message: "client_message_id is required: 1–\(CustomerID.maxLength) printable characters, new for each message"))
        }
        return .success((text, id))
    }

    /// Passes a web message to the engine once per client message id: a retry of one being
    /// answered waits for the same answer, a retry of one answered gets it again, and the same
    /// id with another text is refused.
    private func submit(_ text: String, id: String, as speaker: Speaker, from c: Connection, waiting: Bool,
                        into inputs: inout [GatewayInput]) -> HTTPError? {
        guard case .web(let key, let conversation, _) = speaker, let web = c.web else { return nil }
        let feed = webFeeds.open(key, now: Measure.now()).feed
        if let earlier = feed.answers[id] {
            guard earlier.text == text else {
                return HTTPError(status: 409, message: "client_message_id \(id) was already used for another message; use a new id for each message")
            }
            switch earlier {
            case .done(_, let conversation, let items):
                if waiting { respondItems(c, conversation: conversation, items) }
            case .pending(let text, let conversation, let others):
                if waiting {
                    feed.answers[id] = .pending(text: text, conversation: conversation, waiting: others + [c.id])
                    web.inFlight = true
                }
            }
            return nil
        }
        feed.remember(id, .pending(text: text, conversation: conversation, waiting: waiting ? [c.id] : []))
        if waiting { web.inFlight = true }
        inputs.append(.webMessage(connection: c.id, speaker: speaker, text: text, clientMessageID: id, received: Measure.now()))
        return nil
    }

    private func history(_ c: Connection, _ request: HTTPRequest, conversation: String) {
        guard let speaker = authorised(c, request, conversation: conversation, customer: request.query["customer"]),
              case .web(let key, _, _) = speaker else { return }
        guard let after = cursor(request) else {
            respond(c, .error(400, "after must be a whole number (the last seq the client has)"))
            return
        }
        let (items, first) = webFeeds.feed(key)?.items(after: after) ?? ([], nil)
        let range = "\"first_seq\":\(first.map(String.init) ?? "null"),\"last_seq\":\(webFeeds.feed(key)?.lastSeq ?? 0)"
        respond(c, .json(200, itemsBody(conversation: conversation, items, extra: range)))
    }

    /// The client's last seen item: `Last-Event-ID` (event streams reconnecting), else `?after=`.
    private func cursor(_ request: HTTPRequest) -> Int? {
        guard let text = request.header("Last-Event-ID") ?? request.query["after"], !text.isEmpty else { return 0 }
        guard let n = Int(text), n >= 0 else { return nil }
        return n
    }

    // MARK: Streams

    private func openEvents(_ c: Connection, _ request: HTTPRequest, conversation: String, into inputs: inout [GatewayInput]) {
        guard let speaker = authorised(c, request, conversation: conversation, customer: request.query["customer"]),
              case .web(let key, _, _) = speaker, let web = c.web else { return }
        guard let after = cursor(request) else {
            respond(c, .error(400, "Last-Event-ID and after must be whole numbers"))
            return
        }
        web.mode = .events(key: key)
        enqueue(c, ServerSentEvent.responseHead())
        subscribe(c, to: key, speaker: speaker, after: after, into: &inputs)
    }

    private func openCustomerSocket(_ c: Connection, _ request: HTTPRequest, into inputs: inout [GatewayInput]) {
        guard let speaker = authorised(c, request, conversation: request.query["conversation"], customer: request.query["customer"]),
              case .web(let key, _, _) = speaker, let web = c.web else { return }
        guard let after = cursor(request) else {
            respond(c, .error(400, "after must be a whole number (the last seq the client has)"))
            return
        }
        guard upgrade(c, request) else { return }
        web.mode = .customerSocket(speaker)
        subscribe(c, to: key, speaker: speaker, after: after, into: &inputs)
    }

    private func openAgentSocket(_ c: Connection, _ request: HTTPRequest, into inputs: inout [GatewayInput]) {
        guard let web = c.web, upgrade(c, request) else { return }
        web.mode = .agentSocket
        countAsAgent(c)
        inputs.append(.agentConnected(connection: c.id, address: Socket.peerHost(c.fd)))
    }

    /// Answers the WebSocket handshake; false (and an error answered) when it is not one.
    private func upgrade(_ c: Connection, _ request: HTTPRequest) -> Bool {
        do {
            enqueue(c, try WebSocket.handshakeResponse(for: request))
            c.lineStarted = 0
            c.web?.lastSent = Measure.now()
            return true
        } catch {
            respond(c, .error(error), close: true)
        }
        return false
    }

    /// Starts sending the conversation's items to a stream, those after `after` first; a
    /// conversation new to this server gets its opening from the engine (the greeting, or
    /// what an agent wrote while the server was down).
    private func subscribe(_ c: Connection, to key: String, speaker: Speaker, after: Int, into inputs: inout [GatewayInput]) {
        let now = Measure.now()
        let (feed, isNew) = webFeeds.open(key, now: now)
        feed.subscribe(c.id)
        for item in feed.items(after: after).items { send(item, to: c) }
        c.web?.lastSent = now
        if isNew { inputs.append(.identify(connection: c.id, speaker: speaker, received: now)) }
    }

    private func socketEvent(_ c: Connection, _ event: WebSocketEvent, into inputs: inout [GatewayInput]) {
        guard let web = c.web else { return }
        switch event {
        case .ping(let payload):
            enqueue(c, WebSocket.frame(.pong, payload))
        case .pong:
            break  // reading it counted as activity
        case .close(let code, _):
            closeSocket(c, code: code ?? 1000, reason: "")
        case .text(let text):
            guard allowed(c, warn: false) else {
                sendToSocket(c, Array((web.isAgentSocket ? "ERR too many lines; slow down" : ServiceEngine.json(["error": "too many messages; slow down"])).utf8), close: false)
                return
            }
            switch web.mode {
            case .agentSocket:
                let line = text.trimmingSpaces
                guard !LineCodec.hasControlCharacters(line) else {
                    sendToSocket(c, Array("ERR one command per message, without line breaks or control characters".utf8), close: false)
                    return
                }
                guard line.utf8.count <= config.maxLineBytes else {
                    sendToSocket(c, Array("ERR line too long (limit \(config.maxLineBytes) bytes)".utf8), close: false)
                    return
                }
                if !line.isEmpty { inputs.append(.agent(connection: c.id, line: line, received: Measure.now())) }
            case .customerSocket(let speaker):
                let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
                if let object, object["text"] == nil, let signal = Self.signal(object) {
                    inputs.append(.customerSignal(connection: c.id, speaker: speaker, signal: signal))
                    return
                }
                let result = object.map { message(text: $0["text"], id: $0["client_message_id"]) }
                    ?? .failure(HTTPError(status: 400, message: #"each message must be a JSON object: {"text": …, "client_message_id": …}"#))
                switch result {
                case .failure(let error):
                    sendToSocket(c, Array(ServiceEngine.json(["error": error.message, "status": error.status]).utf8), close: false)
                case .success(let (text, id)):
                    if let error = submit(text, id: id, as: speaker, from: c, waiting: false, into: &inputs) {
                        sendToSocket(c, Array(ServiceEngine.json(["error": error.message, "status": error.status, "client_message_id": id]).utf8), close: false)
                    }
                }
            case .requests, .events:
                break
            }
        }
    }

    /// `{"typing": true}` or `{"read": SEQ}` from a customer's page.
    static func signal(_ object: [String: Any]) -> CustomerSignal? {
        if object["typing"] as? Bool == true { return .typing }
        if let seq = object["read"] as? Int, seq > 0 { return .read(seq: seq) }
        return nil
    }

    // MARK: Writing

    /// An engine item for a web conversation: numbered, kept, sent to the conversation's
    /// streams, and noted as the answer to its message when it is one.
    func publish(_ output: GatewayOutput, to key: String, now: UInt64, answered: inout WebAnswers) {
        let feed = webFeeds.open(key, now: now).feed
        let item = feed.append(output.bytes)
        for subscriber in feed.subscribers {
            if let c = connections[subscriber] { send(item, to: c) }
        }
        if let id = output.answers { answered.add(item, key: key, id: id) }
    }

    /// Answers the requests waiting for these messages (and any retries of them).
    func answer(_ answered: WebAnswers) {
        for (key, id) in answered.order {
            guard let feed = webFeeds.feed(key), case .pending(let text, let conversation, let waiting)? = feed.answers[id] else { continue }
            let items = answered.items(key: key, id: id)
            feed.answers[id] = .done(text: text, conversation: conversation, items: items)
            for connection in waiting {
                guard let c = connections[connection], let web = c.web else { continue }
                web.inFlight = false
                respondItems(c, conversation: conversation, items)
                if web.pipelined { respond(c, .error(400, "pipelining is not supported; wait for each response"), close: true) }
            }
        }
    }

    private func respondItems(_ c: Connection, conversation: String, _ items: [WebFeeds.Item]) {
        respond(c, .json(200, itemsBody(conversation: conversation, items)))
    }

    /// `{"conversation": …, "items": [ … ], extra}`: items are written as kept, not re-encoded.
    private func itemsBody(conversation: String, _ items: some Collection<WebFeeds.Item>, extra: String? = nil) -> [UInt8] {
        var out = Array(#"{"conversation":"#.utf8)
        JSONText.appendQuoted(conversation, to: &out)
        if let extra { out += Array(("," + extra).utf8) }
        out += Array(#","items":["#.utf8)
        for (n, item) in items.enumerated() {
            if n > 0 { out.append(0x2C) }
            out += item.json
        }
        out += Array("]}".utf8)
        return out
    }

    private func send(_ item: WebFeeds.Item, to c: Connection) {
        guard let web = c.web else { return }
        switch web.mode {
        case .events:
            enqueue(c, ServerSentEvent(id: String(item.seq), event: nil, data: String(decoding: item.json, as: UTF8.self), retryMilliseconds: nil).encoded())
        case .customerSocket:
            enqueue(c, WebSocket.frame(.text, item.json))
        case .requests, .agentSocket:
            return
        }
        web.lastSent = Measure.now()
    }

    /// An engine answer for a WebSocket (an agent's), as one text message without the line
    /// protocol's last newline.
    func sendToSocket(_ c: Connection, _ bytes: [UInt8], close: Bool) {
        var payload = bytes
        if payload.last == 0x0A { payload.removeLast() }
        enqueue(c, WebSocket.frame(.text, payload))
        c.web?.lastSent = Measure.now()
        if close { closeSocket(c, code: 1000, reason: "bye") }
    }

    func closeSocket(_ c: Connection, code: UInt16, reason: String) {
        guard !c.closeAfterWrite else { return }
        c.closeAfterWrite = true
        enqueue(c, WebSocket.closeFrame(code: code, reason: reason))
        if c.pendingBytes == 0 { drop(c) }
    }

    func respond(_ c: Connection, _ response: HTTPResponse, close: Bool = false) {
        let keepAlive = (c.web?.keepAlive ?? false) && !close
        if !keepAlive { c.closeAfterWrite = true }
        enqueue(c, response.serialized(keepAlive: keepAlive))
        if !keepAlive && c.pendingBytes == 0 { drop(c) }
    }

    private func page(_ c: Connection, _ html: String, head: Bool) {
        let body = Array(html.utf8)
        var response = HTTPResponse(status: 200, headers: [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            ("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        ], body: body)
        if head {
            response.headers.append(("Content-Length", String(body.count)))
            response.body = []
        }
        respond(c, response)
    }

    /// The end of an HTTP connection the server decides (idle, a deadline, shutdown), in the
    /// words of what it has become.
    func sayGoodbye(_ c: Connection, status: Int?, reason: String) {
        guard let web = c.web, !c.closeAfterWrite else { return }
        switch web.mode {
        case .requests:
            if let status, !web.inFlight || status == 503 {
                respond(c, .error(status, reason), close: true)
            } else {
                drop(c)  // an idle keep-alive connection closes without a word, as HTTP expects
            }
        case .events:
            c.closeAfterWrite = true
            enqueue(c, ServerSentEvent(id: nil, event: "goodbye", data: ServiceEngine.json(["reason": reason]), retryMilliseconds: nil).encoded())
            if c.pendingBytes == 0 { drop(c) }
        case .customerSocket, .agentSocket:
            closeSocket(c, code: status == 503 ? 1001 : 1000, reason: reason)
        }
    }

    /// Event streams get a comment and WebSockets a ping after 25 s of silence, so proxies
    /// keep them open and a dead peer is found (its missing pongs let it go idle). Feeds nobody
    /// follows are forgotten after the conversations' idle horizon.
    func keepWebStreamsAlive(now: UInt64) {
        guard config.httpAddress != nil else { return }
        let quiet: UInt64 = 25_000_000_000
        for c in connections.values {
            guard let web = c.web, !c.closeAfterWrite, now - web.lastSent > quiet else { continue }
            switch web.mode {
            case .events:
                enqueue(c, ServerSentEvent.comment("keep-alive"))
                c.lastActive = now  // the client of a stream never writes
            case .customerSocket, .agentSocket:
                enqueue(c, WebSocket.frame(.ping, []))
            case .requests:
                continue
            }
            web.lastSent = now
        }
        webFeeds.expire(now: now, horizon: UInt64(config.conversations.idleHorizon * 1e9))
    }
}
