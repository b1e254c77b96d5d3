import Foundation
import Testing
@testable import KefuCore

/// Agents are who they claim to be: logins against the accounts file, one session per agent,
/// roles, and the throttle on failed logins, through the agent port of a running gateway.
@Suite("Agent logins on the gateway", .serialized)
struct AgentLoginTests {
    /// A customer who asks for a person, and the agent's `* NEW` line read.
    static func handOff(_ server: RunningGateway, customer: String, seenBy agents: [TestClient]) throws -> TestClient {
        let c = try TestClient(server.customer)
        c.send("/id \(customer)")
        _ = c.block()
        c.send("转人工")
        _ = c.block()
        for a in agents { #expect(a.line()?.hasPrefix("* NEW") == true) }
        return c
    }

    @Test("a second login as a working agent takes over: the first connection is told and can no longer reply")
    func secondLoginTakesOver() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let first = try server.loggedInAgent("张三")
        let customer = try Self.handOff(server, customer: "vip7", seenBy: [first])
        first.send("CLAIM T000001")
        #expect(first.line() == "OK T000001 claimed")
        _ = customer.block()

        // Someone who knows only their own password cannot become 张三, and 张三 keeps working.
        let impostor = try TestClient(server.agent)
        impostor.send("AUTH 张三 \(AgentAccountFixture.password(for: "李四"))")
        #expect(impostor.line() == "ERR authentication failed")
        first.send("REPLY T000001 still me")
        #expect(first.line() == "OK delivered")
        _ = customer.block()

        let second = try server.loggedInAgent("张三")
        #expect(first.line()?.hasPrefix("* TAKEN-OVER 张三 logged in again from 127.0.0.1") == true)
        #expect(first.isClosed(), "the session taken over is closed")
        #expect(server.log.waitFor("agent 张三 logged in from 127.0.0.1, taking over agent connection"), "the operator is told")
        first.send("REPLY T000001 from the old session")
        second.send("REPLY T000001 您好，我是张三")
        #expect(second.line() == "OK delivered", "the ticket belongs to the agent, so the new session carries on")
        #expect(customer.block() == "[人工客服 张三] 您好，我是张三", "nothing from the old session reached the customer")
        #expect(try server.desk.tickets.ticket("T000001")?.agentReplies.map(\.text) == ["still me", "您好，我是张三"])
    }

    @Test("an agent cannot transfer or release a ticket another agent holds, even one named supervisor; a supervisor can, and the holder is told")
    func onlySupervisorsMoveOthersTickets() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        // Before accounts, the name "supervisor" alone let anyone transfer any ticket.
        try AgentAccountFixture.add([("supervisor", .agent)], to: server.desk.folder)
        let holder = try server.loggedInAgent("张三")
        let colleague = try server.loggedInAgent("李四")
        let namedSupervisor = try server.loggedInAgent("supervisor")
        let boss = try server.loggedInAgent("主管")
        _ = try Self.handOff(server, customer: "c-transfer", seenBy: [holder, colleague, namedSupervisor, boss])
        holder.send("CLAIM T000001")
        #expect(holder.line() == "OK T000001 claimed")

        let refusal = "ERR ticket T000001 is held by 张三; only they or a supervisor may transfer or release it"
        for agent in [colleague, namedSupervisor] {
            agent.send("TRANSFER T000001 李四")
            #expect(agent.line() == refusal)
            agent.send("RELEASE T000001")
            #expect(agent.line() == refusal)
        }
        #expect(try server.desk.tickets.ticket("T000001")?.assignee == "张三")

        boss.send("TRANSFER T000001 李四")
        #expect(boss.line() == "OK T000001 transferred to 李四")
        #expect(colleague.line() == "* TRANSFERRED T000001 from 主管")
        #expect(holder.line() == "* TRANSFERRED T000001 to 李四 by 主管")
        boss.send("RELEASE T000001")
        #expect(boss.line() == "OK")
        #expect(colleague.line() == "* RELEASED T000001 by 主管")
        #expect(try server.desk.tickets.ticket("T000001")?.state == .waiting)
    }

    @Test("wrong passwords are backed off, then locked out after 10 in 10 minutes whatever the connection, and STATS counts them")
    func wrongPasswordsLockOut() throws {
        let server = try RunningGateway { $0.login.firstDelay = 0.05; $0.login.maxDelay = 0.1 }
        defer { server.stop() }
        let boss = try server.loggedInAgent("主管")

        var guesser = try TestClient(server.agent)
        guesser.send("AUTH 张三 guess-0")
        #expect(guesser.line() == "ERR authentication failed")
        guesser.send("AUTH 张三 \(AgentAccountFixture.password(for: "张三"))")
        #expect(guesser.line() == "ERR too many failed logins; try again in 1 second",
                "within the back-off even the right password is not checked")

        // Three tries per connection, then a new connection, as the guessing scripts did.
        var answers: [String] = []
        var triesOnConnection = 2
        for guess in 1..<10 {
            if triesOnConnection == 3 {
                #expect(guesser.isClosed(), "the third refusal closes the connection")
                guesser = try TestClient(server.agent)
                triesOnConnection = 0
            }
            triesOnConnection += 1
            Thread.sleep(forTimeInterval: 0.12)  // past the back-off
            guesser.send("AUTH 张三 guess-\(guess)")
            answers.append(guesser.line() ?? "closed")
        }
        #expect(answers.dropLast().allSatisfy { $0 == "ERR authentication failed" }, "\(answers)")
        #expect(answers.last == "ERR locked out: too many failed logins; try again in 10 minutes")

        Thread.sleep(forTimeInterval: 0.12)
        let owner = try TestClient(server.agent)
        owner.send("AUTH 张三 \(AgentAccountFixture.password(for: "张三"))")
        #expect(owner.line() == "ERR locked out: too many failed logins; try again in 10 minutes", "the name is locked")
        let other = try TestClient(server.agent)
        other.send("AUTH 李四 \(AgentAccountFixture.password(for: "李四"))")
        #expect(other.line()?.hasPrefix("ERR locked out") == true, "and so is the address the guesses came from")

        let stats = try server.stats(boss)
        #expect(stats["auth_failures"] as? Int == 10)
        #expect(stats["lockouts"] as? Int == 1)
        #expect(stats["auth_throttled"] as? Int == 3)
        #expect(stats["logins"] as? Int == 1)
    }

    @Test("lines sent right after AUTH wait for the password check and are answered in order")
    func pipelinedAfterLogin() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let a = try TestClient(server.agent)
        a.send("AUTH 李四 \(AgentAccountFixture.password(for: "李四"))\nLIST\nAUTH 李四 again")
        #expect(a.line() == "OK welcome 李四")
        #expect(a.line() == "OK 0")
        #expect(a.line() == ".")
        #expect(a.line() == "ERR already authenticated as 李四")
    }

    @Test("an account added or removed while the server runs counts from the next login")
    func accountsFileIsReadAgain() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        let early = try TestClient(server.agent)
        early.send("AUTH 王五 \(AgentAccountFixture.password(for: "王五"))")
        #expect(early.line() == "ERR authentication failed")

        try AgentAccountFixture.add([("王五", .agent)], to: server.desk.folder)
        _ = try server.loggedInAgent("王五")

        try AccountsFile.update(path: AccountsFile.path(inDataFolder: server.desk.folder)) { $0.remove(named: "李四") }
        let gone = try TestClient(server.agent)
        gone.send("AUTH 李四 \(AgentAccountFixture.password(for: "李四"))")
        #expect(gone.line() == "ERR authentication failed")
    }

    @Test("a server without accounts tells the agent how to get one")
    func noAccountsYet() throws {
        let server = try RunningGateway()
        defer { server.stop() }
        try FileManager.default.removeItem(atPath: AccountsFile.path(inDataFolder: server.desk.folder))
        let a = try TestClient(server.agent)
        a.send("AUTH 张三 \(AgentAccountFixture.password(for: "张三"))")
        #expect(a.line() == "ERR no agent accounts on this server yet; an administrator creates one with `kefu agent add NAME`")
    }
}
