import Foundation
import Testing
@testable import KefuCore

/// The line protocols read line by line, without a socket.
@Suite("Line protocols")
struct LineCodecTests {
    private func customer(token: String? = "secret") -> LineCodec {
        LineCodec(role: .customer, maxLineBytes: 64, integrationToken: token,
                  phrases: ["too_long": "抱歉，您的消息太长了。", "unreadable": "抱歉，这条消息无法识别。"])
    }

    private func read(_ codec: inout LineCodec, _ line: String) -> LineCodec.Reading {
        codec.read(Array(line.utf8)[...], connection: 7, received: 0)
    }

    @Test func aPlainConnectionMayNameItselfOnlyInItsFirstLine() {
        var codec = customer()
        guard case .input(.identify(7, .plain(label: "张三"), _)) = read(&codec, "/id 张三") else { Issue.record("first /id"); return }
        guard case .input(.customer(7, .plain(label: nil), "信用卡怎么激活", _)) = read(&codec, "  信用卡怎么激活\r") else { Issue.record("message"); return }
        guard case .refused(.identityNotFirst) = read(&codec, "/resume ABCD") else { Issue.record("late /resume"); return }
        #expect(codec.refusal(.identityNotFirst).contains("/id 和 /resume 只能作为连接后的第一行发送"))
    }

    @Test func theFirstJSONLineChoosesJSONLinesAndOnlyTheRightTokenIsTrusted() {
        var codec = customer()
        guard case .authenticated = read(&codec, #"{"auth":"secret"}"#) else { Issue.record("auth"); return }
        guard case .input(.customer(_, .session("s1", customer: "alice", trusted: true), "你好", _)) =
                read(&codec, #"{"session":"s1","customer":"alice","text":"你好"}"#) else { Issue.record("trusted"); return }
        guard case .refused(.authNotFirst) = read(&codec, #"{"auth":"secret"}"#) else { Issue.record("late auth"); return }
        var guesser = customer()
        guard case .authenticationFailed(let reply) = read(&guesser, #"{"auth":"guess"}"#) else { Issue.record("wrong token"); return }
        #expect(reply.contains("wrong integration token"))
        var untrusted = customer(token: nil)
        guard case .input(.customer(_, .session("s", customer: "s", trusted: false), _, _)) =
                read(&untrusted, #"{"session":"s","text":"hi"}"#) else { Issue.record("untrusted"); return }
    }

    @Test func refusalsAreWordedInTheConnectionsOwnProtocol() {
        var plain = customer()
        _ = read(&plain, "你好")
        #expect(plain.refusal(.tooLong) == "抱歉，您的消息太长了。(message too long)\n\n", "the same standard phrase as kefu chat")
        guard case .refused(.unreadable) = plain.read([0xC3, 0x28], connection: 7, received: 0) else { Issue.record("bad UTF-8"); return }
        var json = customer()
        _ = read(&json, #"{"session":"s","text":"hi"}"#)
        guard case .refused(.tooLong) = read(&json, #"{"session":"s","text":"\#(String(repeating: "x", count: 65))"}"#) else { Issue.record("long text"); return }
        #expect(json.refusal(.tooLong) == #"{"error":"line too long (limit 64 bytes)"}"# + "\n")
        #expect(json.goodbye(.idle) == #"{"reason":"idle timeout","type":"goodbye"}"# + "\n")
        let agent = LineCodec(role: .agent, maxLineBytes: 64, integrationToken: nil, phrases: [:])
        #expect(agent.refusal(.tooFast) == "ERR too many lines; slow down\n")
        #expect(agent.goodbye(.shuttingDown) == "* BYE server shutting down\n")
    }
}
