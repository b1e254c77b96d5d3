import Foundation
import Testing
@testable import KefuCore

/// A gateway with the HTTP listener on a free loopback port.
private func webGateway() throws -> (RunningGateway, Socket.Address) {
    let server = try RunningGateway { config in
        config.httpAddress = Socket.Address(host: "127.0.0.1", port: 0)
        config.webSecret = "web-secret-for-tests"
    }
    return (server, try #require(server.gateway.httpBound))
}

/// A new browser conversation: its id and token.
private func newConversation(_ http: Socket.Address) throws -> (id: String, token: String) {
    let client = try WebTestClient(http)
    let created = try #require(client.request("POST", "/v1/conversations")?.json)
    return (try #require(created["conversation"] as? String), try #require(created["token"] as? String))
}

private func say(_ text: String, id: String, in conversation: (id: String, token: String), on client: WebTestClient) -> WebTestClient.Response? {
    client.request("POST", "/v1/messages", token: conversation.token,
                   json: ["conversation": conversation.id, "text": text, "client_message_id": id])
}

@Suite(.serialized) struct WebChannelTests {
    @Test func aBrowserConversationIsGreetedOnItsStreamAndAnsweredWithNumberedItems() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let conversation = try newConversation(http)
        let stream = try WebTestClient(http)
        stream.send("GET", "/v1/conversations/\(conversation.id)/events?token=\(conversation.token)")
        let head = try #require(stream.responseHead())
        #expect(head.contains("text/event-stream"))
        let greeting = try #require(stream.eventItem())
        #expect(greeting["seq"] as? Int == 1)
        #expect(greeting["from"] as? String == "bot")

        let client = try WebTestClient(http)
        let answer = try #require(say("银行卡丢了怎么办", id: "m1", in: conversation, on: client))
        #expect(answer.status == 200)
        let items = answer.items
        #expect(items.map { $0["seq"] as? Int } == [2, 3])
        #expect(items.first?["from"] as? String == "customer")
        #expect(items.first?["client_message_id"] as? String == "m1")
        #expect(items.last?["from"] as? String == "bot")
        #expect(items.last?["topic"] as? String == "card_service")
        #expect(items.last?["state"] as? String == "bot")
        // The stream carries the same items, with the same numbers.
        #expect(stream.eventItem()?["seq"] as? Int == 2)
        #expect(stream.eventItem()?["seq"] as? Int == 3)
    }

    @Test func aConversationTokenOpensItsOwnConversationAndNoOther() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let mine = try newConversation(http)
        let theirs = try newConversation(http)
        let client = try WebTestClient(http)
        #expect(say("你好", id: "a", in: theirs, on: client)?.status == 200)
        let reading = client.request("GET", "/v1/conversations/\(theirs.id)/messages", token: mine.token)
        #expect(reading?.status == 403)
        #expect(client.request("GET", "/v1/conversations/\(theirs.id)/messages")?.status == 401)
        let forged = theirs.id + "." + String(repeating: "0", count: 64)
        #expect(client.request("GET", "/v1/conversations/\(theirs.id)/messages", token: forged)?.status == 401)
        // Nor may a browser name a customer, which would reach an integration's customers.
        let naming = client.request("POST", "/v1/messages", token: mine.token,
                                    json: ["conversation": mine.id, "customer": "alice", "text": "你好", "client_message_id": "b"])
        #expect(naming?.status == 403)
        #expect(client.request("GET", "/v1/conversations/\(mine.id)/messages", token: mine.token)?.items.isEmpty == true)
    }

    @Test func aRetriedMessageGetsTheSameAnswerAndOpensNoSecondTicket() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        let conversation = try newConversation(http)
        let client = try WebTestClient(http)
        let first = try #require(say("转人工", id: "handoff-1", in: conversation, on: client))
        let ticket = try #require(first.items.last?["ticket"] as? String)
        #expect(first.items.last?["state"] as? String == "queued")
        #expect(first.items.last?["position"] as? Int == 1)
        #expect(agent.line()?.hasPrefix("* NEW \(ticket)") == true)
        let retry = try #require(say("转人工", id: "handoff-1", in: conversation, on: try WebTestClient(http)))
        #expect(retry.body == first.body)
        agent.send("LIST")
        #expect(agent.line() == "OK 1")
        #expect(say("我要投诉", id: "handoff-1", in: conversation, on: client)?.status == 409)
    }

    @Test func historyAndAReconnectingStreamDeliverExactlyWhatWasMissed() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let conversation = try newConversation(http)
        let client = try WebTestClient(http)
        for (n, text) in ["你好", "银行卡丢了怎么办", "怎么退款"].enumerated() {
            #expect(say(text, id: "m\(n)", in: conversation, on: client)?.status == 200)
        }
        let all = try #require(client.request("GET", "/v1/conversations/\(conversation.id)/messages", token: conversation.token)?.json)
        #expect((all["items"] as? [[String: Any]])?.map { $0["seq"] as? Int } == [1, 2, 3, 4, 5, 6])
        let later = client.request("GET", "/v1/conversations/\(conversation.id)/messages?after=4", token: conversation.token)
        #expect(later?.items.map { $0["seq"] as? Int } == [5, 6])
        #expect(client.request("GET", "/v1/conversations/\(conversation.id)/messages?after=x", token: conversation.token)?.status == 400)

        let stream = try WebTestClient(http)
        stream.send("GET", "/v1/conversations/\(conversation.id)/events", token: conversation.token, headers: ["Last-Event-ID": "3"])
        _ = stream.responseHead()
        #expect(stream.event()?.id == "4")
        #expect(stream.event()?.id == "5")
        #expect(stream.event()?.id == "6")
        #expect(say("谢谢", id: "m9", in: conversation, on: client)?.status == 200)
        #expect(stream.event()?.id == "7")
    }

    @Test func aCustomerWebSocketSendsMessagesAndReceivesItems() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let conversation = try newConversation(http)
        let socket = try WebTestClient(http)
        let handshake = socket.upgrade("/v1/ws?conversation=\(conversation.id)&token=\(conversation.token)")
        #expect(handshake?.status == 101)
        #expect(handshake?.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(socket.textObject()?["seq"] as? Int == 1)  // the greeting
        socket.sendJSON(["text": "怎么退款", "client_message_id": "w1"])
        #expect(socket.textObject()?["from"] as? String == "customer")
        let reply = try #require(socket.textObject())
        #expect(reply["topic"] as? String == "return_refund")
        socket.sendText("not json")
        #expect(socket.textObject()?["status"] as? Int == 400)
        // A client frame without a mask is a protocol error.
        socket.sendFrame(opcode: 1, Array("{}".utf8), masked: false)
        #expect(socket.closeCode() == 1002)
    }

    @Test func anAgentInTheBrowserSocketWorksTheSameQueueAndTheCustomerSeesItLive() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let desk = try WebTestClient(http)
        #expect(desk.upgrade("/v1/agent/ws")?.status == 101)
        desk.sendText("AUTH 张三 \(AgentAccountFixture.password(for: "张三"))")
        #expect(desk.text() == "OK welcome 张三")

        let conversation = try newConversation(http)
        let stream = try WebTestClient(http)
        stream.send("GET", "/v1/conversations/\(conversation.id)/events?token=\(conversation.token)")
        _ = stream.responseHead()
        _ = stream.eventItem()  // greeting
        let client = try WebTestClient(http)
        let handoff = try #require(say("转人工", id: "h", in: conversation, on: client))
        let ticket = try #require(handoff.items.last?["ticket"] as? String)
        _ = stream.eventItem(); _ = stream.eventItem()
        #expect(desk.text()?.hasPrefix("* NEW \(ticket)") == true)

        desk.sendText("CLAIM \(ticket)")
        #expect(desk.text() == "OK \(ticket) claimed")
        let joined = try #require(stream.eventItem())
        #expect(joined["type"] as? String == "agent_joined")
        #expect(joined["state"] as? String == "with_person")
        desk.sendText("REPLY \(ticket) 您好，我来帮您处理")
        #expect(desk.text() == "OK delivered")
        let reply = try #require(stream.eventItem())
        #expect(reply["from"] as? String == "agent")
        #expect(reply["agent"] as? String == "张三")
        #expect(reply["text"] as? String == "[人工客服 张三] 您好，我来帮您处理")

        // The bot stays quiet while the agent has the case: the answer holds the customer's item only.
        let quiet = try #require(say("好的，卡号是6222021234567890123", id: "q", in: conversation, on: client))
        #expect(quiet.items.map { $0["from"] as? String } == ["customer"])
        #expect(desk.text()?.hasPrefix("* MESSAGE \(ticket)") == true)

        desk.sendText("RESOLVE \(ticket)")
        #expect(desk.text() == "OK \(ticket) resolved")
        _ = stream.eventItem()  // the customer's own item
        let resolved = try #require(stream.eventItem())
        #expect(resolved["type"] as? String == "resolved")
        #expect(resolved["state"] as? String == "rating")
        let rated = try #require(say("5", id: "r", in: conversation, on: client))
        #expect(rated.items.last?["state"] as? String != "rating")
    }

    @Test func theAgentHoldingTheCaseSeesTheCustomerTypeAndRead() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let agent = try server.loggedInAgent()
        let conversation = try newConversation(http)
        let socket = try WebTestClient(http)
        #expect(socket.upgrade("/v1/ws?conversation=\(conversation.id)&token=\(conversation.token)")?.status == 101)
        _ = socket.textObject()  // greeting
        // While the bot serves, typing tells nobody.
        socket.sendJSON(["typing": true])
        socket.sendJSON(["text": "转人工", "client_message_id": "h"])
        _ = socket.textObject()
        let ticket = try #require(socket.textObject()?["ticket"] as? String)
        #expect(agent.line()?.hasPrefix("* NEW \(ticket)") == true)
        agent.send("CLAIM \(ticket)")
        #expect(agent.line() == "OK \(ticket) claimed")
        agent.send("REPLY \(ticket) 请问哪张卡？")
        #expect(agent.line() == "OK delivered")
        _ = socket.textObject()  // agent joined
        let reply = try #require(socket.textObject())
        socket.sendJSON(["typing": true])
        #expect(agent.line() == "* TYPING \(ticket)")
        socket.sendJSON(["read": reply["seq"] as? Int ?? 0])
        #expect(agent.line() == "* READ \(ticket) \(reply["seq"] as? Int ?? 0)")
    }

    @Test func aSecondRequestBeforeTheFirstIsAnsweredIsRefusedAfterIt() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let conversation = try newConversation(http)
        let client = try WebTestClient(http)
        client.send("POST", "/v1/messages", token: conversation.token,
                    json: ["conversation": conversation.id, "text": "你好", "client_message_id": "p1"])
        client.send("GET", "/v1/health")
        #expect(client.response()?.status == 200)
        let refused = client.response()
        #expect(refused?.status == 400)
        #expect(refused?.headers["connection"] == "close")
    }

    @Test func aConversationTokenStillOpensItsConversationAfterARestart() throws {
        let folder = RunningGateway.dataFolder()
        let configure = { (config: inout GatewayConfiguration) in
            config.httpAddress = Socket.Address(host: "127.0.0.1", port: 0)
            config.webSecret = "kept-in-the-data-folder"
        }
        let first = try RunningGateway(folder: folder, configure: configure)
        let http = try #require(first.gateway.httpBound)
        let conversation = try newConversation(http)
        let handoff = say("转人工", id: "1", in: conversation, on: try WebTestClient(http))
        let ticket = try #require(handoff?.items.last?["ticket"] as? String)
        first.stop()
        let second = try RunningGateway(folder: folder, configure: configure)
        defer { second.stop() }
        let again = try WebTestClient(try #require(second.gateway.httpBound))
        let after = try #require(say("还要等多久", id: "2", in: conversation, on: again))
        #expect(after.status == 200)
        #expect(after.items.last?["ticket"] as? String == ticket)
        #expect(after.items.last?["state"] as? String == "queued")
    }

    @Test func mintingConversationsCannotGrowTheServersKeptHistoryWithoutEnd() throws {
        let server = try RunningGateway { config in
            config.httpAddress = Socket.Address(host: "127.0.0.1", port: 0)
            config.conversations.maxLive = 10
        }
        defer { server.stop() }
        let http = try #require(server.gateway.httpBound)
        let client = try WebTestClient(http)
        let first = try newConversation(http)
        #expect(say("你好", id: "1", in: first, on: client)?.items.count == 2)
        for n in 0..<30 {
            let other = try newConversation(http)
            #expect(say("你好", id: "m\(n)", in: other, on: client)?.status == 200)
        }
        // The oldest history nobody follows was let go; the conversation itself goes on.
        let history = client.request("GET", "/v1/conversations/\(first.id)/messages", token: first.token)
        #expect(history?.items.isEmpty == true)
        let again = try #require(say("怎么退款", id: "2", in: first, on: client))
        #expect(again.items.last?["topic"] as? String == "return_refund")
    }

    @Test func aCrowdOfWebCustomersCannotKeepTheAgentConsoleOut() throws {
        let server = try RunningGateway { config in
            config.httpAddress = Socket.Address(host: "127.0.0.1", port: 0)
            config.maxConnections = 2
            config.agentSlots = 2
        }
        defer { server.stop() }
        let http = try #require(server.gateway.httpBound)
        let crowd = try (0..<2).map { _ in try WebTestClient(http) }
        for client in crowd { #expect(client.request("GET", "/v1/health")?.status == 200) }
        // The customers' share is full: a customer's request is refused …
        #expect(try WebTestClient(http).request("GET", "/v1/health")?.status == 503)
        // … and an agent's console still opens its socket and logs in.
        let desk = try WebTestClient(http)
        #expect(desk.upgrade("/v1/agent/ws")?.status == 101)
        desk.sendText("AUTH 张三 \(AgentAccountFixture.password(for: "张三"))")
        #expect(desk.text() == "OK welcome 张三")
    }

    @Test func theIntegrationNamesItsCustomersWhoMeetTheSameConversationOnEveryChannel() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let client = try WebTestClient(http)
        let answer = client.request("POST", "/v1/messages", token: server.integrationToken,
                                    json: ["conversation": "c-42", "customer": "alice", "text": "转人工", "client_message_id": "1"])
        let ticket = try #require(answer?.items.last?["ticket"] as? String)
        // The same customer on a JSON Lines connection authenticated as the integration is
        // in the same case.
        let lines = try server.integration()
        lines.send(json: ["session": "s", "customer": "alice"])
        #expect(lines.object()?["ticket"] as? String == ticket)
        let history = client.request("GET", "/v1/conversations/c-42/messages?customer=alice", token: server.integrationToken)
        #expect(history?.items.count == 2)
    }

    @Test func malformedRequestsGetTheRightStatusAndTheServerKeepsServing() throws {
        let (server, http) = try webGateway()
        defer { server.stop() }
        let conversation = try newConversation(http)
        let client = try WebTestClient(http)
        #expect(client.request("GET", "/nowhere")?.status == 404)
        let wrongMethod = client.request("GET", "/v1/messages")
        #expect(wrongMethod?.status == 405)
        #expect(wrongMethod?.headers["allow"] == "POST")
        #expect(client.request("POST", "/v1/messages", token: conversation.token, body: Array("{not json".utf8))?.status == 400)
        let long = String(repeating: "长", count: 2000)
        #expect(say(long, id: "x", in: conversation, on: client)?.status == 413)
        let missingID = client.request("POST", "/v1/messages", token: conversation.token, json: ["conversation": conversation.id, "text": "你好"])
        #expect(missingID?.status == 400)
        let broken = try WebTestClient(http)
        broken.sendBytes(Array("GET /v1/health HTTP/1.1\r\nBad Header\r\n\r\n".utf8))
        #expect(broken.response()?.status == 400)
        #expect(client.request("GET", "/v1/health")?.status == 200)
        #expect(client.request("GET", "/chat/")?.headers["content-type"]?.hasPrefix("text/html") == true)
    }
}

extension WebTestClient {
    /// The head of a streaming response (event streams have no length), as text.
    func responseHead() -> String? {
        var head: [UInt8] = []
        while !(head.count >= 4 && Array(head.suffix(4)) == [0x0D, 0x0A, 0x0D, 0x0A]) {
            var byte: UInt8 = 0
            guard recv(fd, &byte, 1, 0) == 1 else { return nil }
            head.append(byte)
        }
        return String(decoding: head, as: UTF8.self)
    }
}
