import Foundation
import Testing
@testable import KefuCore

/// The pieces customer identity is built from: the digest, random values, keys and resume codes.
@Suite("Customer identity")
struct IdentityTests {
    @Test("SHA-256 gives the standard's digests, across the padding boundaries")
    func sha256Vectors() {
        let vectors: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            (String(repeating: "a", count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
            (String(repeating: "a", count: 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
            (String(repeating: "a", count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
            ("客服", "eae0efe236c3fe680dcf0e1b1708d0caedecfe6532c8080d4b001c0694477229"),
        ]
        for (text, digest) in vectors { #expect(SHA256.hex(Array(text.utf8)) == digest, "\(text.prefix(10))") }
    }

    @Test("random values are the length asked for and do not repeat")
    func secureRandom() {
        let values = (0..<1000).map { _ in SecureRandom.hex(bytes: 16) }
        #expect(values.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
        #expect(Set(values).count == values.count)
        #expect(SecureRandom.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    }

    @Test("a label, an unauthenticated JSON name and an integration's name never make the same key")
    func keysKeepDomainsApart() {
        let scope = CustomerKey.newScope()
        let keys = [CustomerKey.anonymous(label: "张三"), CustomerKey.anonymous(label: "张三"), CustomerKey.scoped(to: scope, name: "张三"),
                    CustomerKey.scoped(to: CustomerKey.newScope(), name: "张三"), CustomerKey.integration("张三")]
        #expect(Set(keys).count == keys.count)
        #expect(CustomerKey.integration("anon:x") != "anon:x", "a name that looks like a key stays in its own domain")
        #expect(CustomerKey.anonymous(label: nil).count == "anon:".count + 32)
        #expect(keys.map(CustomerKey.needsResumeCode) == [true, true, true, true, false])
        var directory = CustomerDirectory()
        let plain = directory.key(for: .plain(label: nil), on: 1)
        #expect(directory.key(for: .plain(label: nil), on: 1) == plain, "one customer per plain connection")
        #expect(directory.key(for: .plain(label: nil), on: 2) != plain)
        let mine = directory.key(for: .session("s", customer: "u1", trusted: false), on: 3)
        #expect(directory.key(for: .session("t", customer: "u1", trusted: false), on: 3) == mine, "one name, one customer on a connection")
        #expect(directory.key(for: .session("s", customer: "u1", trusted: false), on: 4) != mine, "and another on another connection")
        #expect(directory.key(for: .session("s", customer: "u1", trusted: true), on: 5) == "int:u1")
        directory.attach("anon:resumed", as: .session("s", customer: "u1", trusted: false), on: 3)
        #expect(directory.key(for: .session("s", customer: "u1", trusted: false), on: 3) == "anon:resumed")
    }

    @Test("a customer id is at most 64 printable characters")
    func customerIDs() {
        #expect(CustomerID.problem("张三") == nil)
        #expect(CustomerID.problem("13800001234") == nil)
        #expect(CustomerID.problem("王 小明") == nil)
        #expect(CustomerID.problem(String(repeating: "客", count: 64)) == nil)
        #expect(CustomerID.problem(String(repeating: "客", count: 65)) == .tooLong)
        #expect(CustomerID.problem("e" + String(repeating: "\u{301}", count: 64)) == .tooLong, "combining marks count")
        #expect(CustomerID.problem("") == .empty)
        for bad in ["a\nb", "a\tb", "a\u{1B}[2Jb", "a\u{85}b", "a\u{202E}b", "a\u{200B}b", "a\u{2028}b", "a\u{E000}b"] {
            #expect(CustomerID.problem(bad) == .unprintable, "\(bad.debugDescription)")
        }
    }

    @Test("a resume code is 26 unambiguous symbols, read back however it is typed")
    func resumeCodes() {
        let codes = (0..<200).map { _ in ResumeCode.generate() }
        #expect(Set(codes.map(\.text)).count == codes.count)
        for code in codes { #expect(code.text.count == 26 && code.text.allSatisfy { "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains($0) }) }
        let code = ResumeCode(text: "01ABCDEFGHJKMNPQRSTVWXYZ23")
        #expect(code.hash.count == 64 && !code.hash.contains(code.text))
        for typed in [code.text, "oiabcdefghjkmnpqrstvwxyz23", "OLAB-CDEF-GHJK-MNPQ-RSTV-WXYZ-23", " 01abcdefghjkmnpqrstvwxyz23 "] {
            #expect(ResumeCode.hash(typed: typed) == code.hash, "\(typed)")
        }
        #expect(ResumeCode.hash(typed: "01ABCDEFGHJKMNPQRSTVWXYZ2") == nil, "too short")
        #expect(ResumeCode.hash(typed: "01ABCDEFGHJKMNPQRSTVWXYZ2U") == nil, "not in the alphabet")
    }

    @Test("a handoff on an anonymous channel tells the code once and keeps only its hash, which still works after a restart")
    func resumeCodeAtHandoff() throws {
        let folder = Scratch.folder("resume")
        let kb = try KnowledgeFixture.make().load()
        let dialogue = Dialogue(kb: kb, desk: try ServiceDesk(folder: folder))
        let now = Date()
        var state = try dialogue.start(customer: "anon:1", channel: "tcp", now: now)
        state.offersResume = true
        let reply = try dialogue.respond(to: "转人工", in: &state, now: now)
        let code = try #require(reply.resumeCode)
        let ticket = try #require(reply.ticket)
        #expect(ticket.resumeHash == code.hash)
        #expect(!reply.text.contains(code.text), "the channel shows it; the reply lines are the transcript")
        let journal = try String(contentsOfFile: folder + "/tickets.log", encoding: .utf8)
        #expect(!journal.contains(code.text))
        #expect(journal.contains(code.hash))

        let reopened = try TicketStore(folder: folder)
        #expect(reopened.resumable(codeHash: code.hash, now: now)?.customer == "anon:1")
        #expect(reopened.resumable(codeHash: ResumeCode.generate().hash, now: now) == nil)
        try reopened.claim(ticket.id, agent: "张三", now: now)
        try reopened.resolve(ticket.id, agent: "张三", note: nil, now: now)
        #expect(reopened.resumable(codeHash: code.hash, now: now.addingTimeInterval(86400)) != nil, "back to rate it")
        #expect(reopened.resumable(codeHash: code.hash, now: now.addingTimeInterval(Ticket.followUpWindow + 1)) == nil, "expired")

        var local = try dialogue.start(customer: "c42", channel: "cli", now: now)
        #expect(try dialogue.respond(to: "转人工", in: &local, now: now).resumeCode == nil, "kefu chat names its customer itself")
    }
}
