import Foundation
import Testing
@testable import KefuCore

/// The accounts file, password hashes, the login throttle and agent sessions, without a server.
@Suite("Agent accounts")
struct AgentAccountsTests {
    static func path() -> String {
        AccountsFile.path(inDataFolder: Scratch.folder("accounts"))
    }

    @Test("a password hash matches its password only, and its stored form reads back the same")
    func passwordHash() throws {
        let hash = PasswordHash(password: "correct horse", iterations: 1_000)
        #expect(hash.matches("correct horse"))
        #expect(!hash.matches("correct hors"))
        #expect(!hash.matches(""))
        let stored = hash.description
        #expect(stored.hasPrefix("pbkdf2-sha256$1000$"))
        #expect(try PasswordHash(stored: stored) == hash)
        #expect(PasswordHash(password: "correct horse", iterations: 1_000) != hash, "each hash has its own salt")
        #expect(!PasswordHash.unmatchable(iterations: 1_000).matches("correct horse"))
    }

    @Test("the stored hash is PBKDF2-HMAC-SHA256 of the password and salt, so other tools can check it")
    func storedHashIsStandard() throws {
        let hash = PasswordHash(password: "Password", salt: Array("NaCl".utf8), iterations: 80_000)
        #expect(hash.description == "pbkdf2-sha256$80000$4e61436c$4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56")
    }

    @Test("generated passwords are 20 unambiguous characters in groups of five, never the same twice")
    func generatedPasswords() {
        let passwords = (0..<200).map { _ in PasswordHash.generatePassword() }
        #expect(Set(passwords).count == passwords.count)
        for p in passwords {
            let groups = p.split(separator: "-")
            #expect(groups.count == 4 && groups.allSatisfy { $0.count == 5 }, "\(p)")
            #expect(!p.contains { "ilo01".contains($0) }, "\(p)")
        }
    }

    @Test("accounts are written one per line at mode 0600 and read back")
    func writeAndRead() throws {
        let path = Self.path()
        try AgentAccountFixture.add(to: (path as NSString).deletingLastPathComponent)
        let file = try AccountsFile.read(path: path)
        #expect(file.accounts.map(\.name) == ["张三", "李四", "主管"])
        #expect(file.account(named: "主管")?.role == .supervisor)
        #expect(file.account(named: "张三")?.password.matches(AgentAccountFixture.password(for: "张三")) == true)
        #expect(file.notices.isEmpty)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.first?.hasPrefix("#") == true, "a header says what the fields are")
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: " ").count == 3 })
        #expect(lines[1].hasPrefix("张三 agent pbkdf2-sha256$1000$"))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
    }

    @Test("a malformed line is reported as file:line and ignored, and a rewrite keeps it and the comments as they were")
    func malformedLines() throws {
        let path = Self.path()
        try POSIX.makeDirectory((path as NSString).deletingLastPathComponent)
        let good = PasswordHash(password: "pw", iterations: 1_000).description
        let text = """
        # our agents
        张三 agent \(good)
        李四 manager \(good)
        王五 agent pbkdf2-sha256$many$00$00
        赵六 agent
        张三 supervisor \(good)

        """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let file = try AccountsFile.read(path: path)
        #expect(file.accounts.map(\.name) == ["张三"])
        #expect(file.account(named: "张三")?.role == .agent)
        #expect(file.notices.map(\.description) == [
            "\(path):3: unknown role 'manager'; the roles are agent and supervisor",
            "\(path):4: the iteration count 'many' is not a number from 1 to 10000000",
            "\(path):5: expected NAME ROLE PASSWORD-HASH separated by spaces, found 2 fields",
            "\(path):6: agent 张三 already has an account on an earlier line; this one is ignored",
        ])
        try AccountsFile.update(path: path) { $0.remove(named: "张三") }
        let after = try String(contentsOfFile: path, encoding: .utf8)
        #expect(after == text.replacingOccurrences(of: "张三 agent \(good)\n", with: ""))
    }

    @Test("concurrent changes under the lock all land")
    func concurrentAdds() throws {
        let path = Self.path()
        let hash = PasswordHash(password: "pw", iterations: 1)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for n in 0..<5 {
                _ = try? AccountsFile.update(path: path) { $0.save(AgentAccount(name: "a\(worker)-\(n)", role: .agent, password: hash)) }
            }
        }
        let file = try AccountsFile.read(path: path)
        #expect(file.accounts.count == 40)
        #expect(file.notices.isEmpty)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("names that would break the line protocol or the file are refused with the reason")
    func names() {
        #expect(AgentAccount.problem(withName: "张三") == nil)
        #expect(AgentAccount.problem(withName: "zhang.san@example") == nil)
        #expect(AgentAccount.problem(withName: "张 三")?.contains("one word") == true)
        #expect(AgentAccount.problem(withName: "")?.contains("empty") == true)
        #expect(AgentAccount.problem(withName: "#root")?.contains("comment") == true)
        #expect(AgentAccount.problem(withName: String(repeating: "x", count: 65))?.contains("64") == true)
    }

    // MARK: The throttle

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("after each failure the next try waits twice as long, up to the cap")
    func backOffDoubles() {
        var throttle = LoginThrottle(policy: LoginPolicy())
        var waits: [TimeInterval] = []
        var now = Self.t0
        for _ in 0..<8 {
            _ = throttle.failed(name: "x", address: "a", now: now)
            if case .wait(let s) = throttle.verdict(name: "x", address: "a", now: now) { waits.append(s) }
            now = now.addingTimeInterval(waits.last ?? 0)
            #expect(throttle.verdict(name: "x", address: "a", now: now) == .allowed)
        }
        #expect(waits == [1, 2, 4, 8, 16, 32, 60, 60])
    }

    @Test("ten failures within ten minutes lock the name out everywhere and the address out for every name, for ten minutes")
    func lockOut() {
        var throttle = LoginThrottle(policy: LoginPolicy())
        var now = Self.t0
        for n in 1...10 {
            let locked = throttle.failed(name: "张三", address: "10.0.0.\(n)", now: now)
            #expect(locked == (n == 10))
            now = now.addingTimeInterval(30)
        }
        #expect(throttle.verdict(name: "张三", address: "10.0.0.99", now: now) == .lockedOut(570), "the name, from anywhere")
        #expect(throttle.verdict(name: "李四", address: "10.0.0.99", now: now) == .allowed)
        #expect(throttle.verdict(name: "张三", address: "10.0.0.99", now: now.addingTimeInterval(570)) == .allowed)

        for n in 1...10 { _ = throttle.failed(name: "name\(n)", address: "192.0.2.7", now: now) }
        #expect(throttle.verdict(name: "李四", address: "192.0.2.7", now: now) == .lockedOut(600), "the address, for any name")
        #expect(throttle.verdict(name: "李四", address: "192.0.2.8", now: now) == .allowed)
    }

    @Test("failures older than the window are forgotten; a success clears the name but not the address")
    func forgetting() {
        var throttle = LoginThrottle(policy: LoginPolicy())
        for _ in 0..<9 { _ = throttle.failed(name: "张三", address: "a", now: Self.t0) }
        let later = Self.t0.addingTimeInterval(601)
        let locked = throttle.failed(name: "张三", address: "a", now: later)
        #expect(!locked, "nine old failures and one new are not ten")
        #expect(throttle.recentFailures(name: "张三", address: "b", now: later) == 1)

        for _ in 0..<5 { _ = throttle.failed(name: "李四", address: "c", now: later) }
        throttle.succeeded(name: "李四")
        #expect(throttle.recentFailures(name: "李四", address: "d", now: later) == 0)
        #expect(throttle.recentFailures(name: "someone", address: "c", now: later) == 5, "a guesser cannot wipe their address by logging in")
    }

    // MARK: Sessions

    @Test("one session per agent: a second login takes over and the old connection is forgotten")
    func sessions() {
        var sessions = AgentSessions()
        #expect(sessions.login(.init(name: "张三", role: .agent, address: "a"), on: 20) == nil)
        #expect(sessions.login(.init(name: "李四", role: .agent, address: "a"), on: 21) == nil)
        #expect(sessions.login(.init(name: "张三", role: .agent, address: "b"), on: 22) == 20)
        #expect(sessions[20] == nil)
        #expect(sessions.connection(named: "张三") == 22)
        sessions.logout(20)  // the old connection closing must not end the new session
        #expect(sessions[22]?.address == "b")
        #expect(sessions.connections == [21, 22])
    }
}
