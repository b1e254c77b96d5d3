import Foundation
import Testing
@testable import KefuCore

/// `kefu agent add | passwd | remove | accounts` and `--connect` logins, through the built binary.
@Suite("kefu agent accounts from the command line", .serialized)
struct AgentAccountCommandLineTests {
    let cli = CommandLineTests()

    /// `kefu agent list --connect` as `name`, with `password` in the environment.
    func listRemotely(_ server: ServeProcessTests.Server, as name: String, password: String) throws -> (status: Int32, out: String, err: String) {
        try cli.run(["agent", "list", "--connect", "\(server.agent)", "--as", name], environment: ["KEFU_AGENT_PASSWORD": password])
    }

    @Test("kefu agent add, passwd and remove set up a fresh data folder and change a running server's logins; --connect logs in with them")
    func addPasswdRemove() throws {
        let data = Scratch.folder("cli-agents")
        let path = AccountsFile.path(inDataFolder: data)

        // Bootstrap: no server and no data folder yet.
        let added = try cli.run(["agent", "add", "张三", "--data", data])
        #expect(added.status == 0, "\(added.err)")
        let password = added.out.trimmingCharacters(in: .newlines)
        #expect(password.range(of: #"^[a-z2-9]{5}(-[a-z2-9]{5}){3}$"#, options: .regularExpression) != nil, "the password alone on stdout: \(added.out)")
        #expect(added.err.contains("shown only this once"))
        let stored = try String(contentsOfFile: path, encoding: .utf8)
        #expect(stored.contains("张三 agent pbkdf2-sha256$\(PasswordHash.defaultIterations)$"))
        #expect(!stored.contains(password), "only the hash is stored")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)

        let again = try cli.run(["agent", "add", "张三", "--data", data])
        #expect(again.status == 1)
        #expect(again.err.contains("agent 张三 already has an account; `kefu agent passwd 张三` gives them a new password"))
        #expect(try cli.run(["agent", "add", "张 三", "--data", data]).err.contains("one word"))
        let badRole = try cli.run(["agent", "add", "主管", "--role", "boss", "--data", data])
        #expect(badRole.status == 64)
        #expect(badRole.err.contains("--role takes agent or supervisor, not 'boss'"))
        #expect(try cli.run(["agent", "add", "主管", "--role", "supervisor", "--data", data]).status == 0)
        let accounts = try cli.run(["agent", "accounts", "--data", data])
        #expect(accounts.out == "张三  agent\n主管  supervisor\n")

        // The server reads the file again at each login after a change.
        let server = try ServeProcessTests.Server(kb: try KnowledgeFixture.make().folder, data: data)
        defer { server.process.terminate(); server.process.waitUntilExit() }
        let passwordFile = data + "/zhangsan.password"
        try (password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let listed = try cli.run(["agent", "list", "--connect", "\(server.agent)", "--as", "张三", "--password-file", passwordFile])
        #expect(listed.status == 0, "\(listed.err)")
        let lateAdd = try cli.run(["agent", "add", "李四", "--data", data])
        #expect(try listRemotely(server, as: "李四", password: lateAdd.out.trimmingCharacters(in: .newlines)).status == 0,
                "an account added while the server runs logs in without a restart")

        let changed = try cli.run(["agent", "passwd", "张三", "--data", data])
        #expect(changed.status == 0)
        let newPassword = changed.out.trimmingCharacters(in: .newlines)
        #expect(newPassword != password)
        let old = try listRemotely(server, as: "张三", password: password)
        #expect(old.status == 1)
        #expect(old.err.contains("the server refused the login as 张三: ERR authentication failed"))
        #expect(old.err.contains("`kefu agent passwd 张三`"))
        Thread.sleep(forTimeInterval: 1.1)  // the back-off after a failure from this address
        #expect(try listRemotely(server, as: "张三", password: newPassword).status == 0)

        let removed = try cli.run(["agent", "remove", "张三", "--data", data])
        #expect(removed.status == 0)
        #expect(removed.out.hasPrefix("OK 张三 removed"))
        Thread.sleep(forTimeInterval: 1.1)
        #expect(try listRemotely(server, as: "张三", password: newPassword).err.contains("ERR authentication failed"))
        let twice = try cli.run(["agent", "remove", "张三", "--data", data])
        #expect(twice.status == 1)
        #expect(twice.err.contains("no agent account named 张三; `kefu agent accounts` lists them"))
        #expect(try cli.run(["agent", "accounts", "--data", data]).out == "主管  supervisor\n李四  agent\n")
    }

    @Test("--connect never takes a password on the command line and says where to put it; --token is gone")
    func passwordSources() throws {
        let noPassword = try cli.run(["agent", "list", "--connect", "127.0.0.1:9", "--as", "张三"], environment: ["KEFU_AGENT_PASSWORD": ""])
        #expect(noPassword.status == 1)
        #expect(noPassword.err.contains("no password for 张三: pass --password-file FILE or set KEFU_AGENT_PASSWORD"))
        let missingFile = try cli.run(["agent", "list", "--connect", "127.0.0.1:9", "--as", "张三", "--password-file", "/nonexistent/pw"])
        #expect(missingFile.err.contains("cannot read the password file /nonexistent/pw"))
        let token = try cli.run(["agent", "list", "--connect", "127.0.0.1:9", "--token", "abc"])
        #expect(token.status == 64)
        #expect(token.err.contains("--token is gone"))
        let onCommandLine = try cli.run(["agent", "list", "--connect", "127.0.0.1:9", "--password", "abc"])
        #expect(onCommandLine.status == 64)
        #expect(onCommandLine.err.contains("unknown option '--password'"))
    }

    @Test("working on the data folder directly, transfer takes the supervisor role from the accounts file")
    func localTransferUsesRoles() throws {
        let data = try AgentAccountFixture.folder()
        let kb = try KnowledgeFixture.make().folder
        #expect(try cli.run(["chat", "--kb", kb, "--data", data, "--customer", "c1"], input: "转人工\n").out.contains("T000001"))
        #expect(try cli.run(["agent", "claim", "T000001", "--as", "张三", "--data", data]).status == 0)
        for other in ["李四", "supervisor"] {
            let refused = try cli.run(["agent", "transfer", "T000001", "--to", other, "--as", other, "--data", data])
            #expect(refused.status == 1)
            #expect(refused.err.contains("ticket T000001 is held by 张三; only they or a supervisor may transfer or release it"))
        }
        let moved = try cli.run(["agent", "transfer", "T000001", "--to", "李四", "--as", "主管", "--data", data])
        #expect(moved.status == 0, "\(moved.err)")
        #expect(try cli.run(["agent", "release", "T000001", "--as", "主管", "--data", data]).status == 0)
    }
}
