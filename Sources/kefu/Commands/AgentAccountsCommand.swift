import Foundation
import KefuCore

/// `kefu agent add | passwd | remove | accounts`: the agent accounts in the data folder.
///
/// They change the file directly, with or without a running server (which reads it again at
/// the next login), so a fresh data folder is set up with `kefu agent add` before the first
/// `kefu serve`. Whoever can write the data folder can change the accounts; that is the
/// administrator's privilege, as it is for the queue itself.
enum AgentAccountsCommand {
    static let verbs = ["add", "passwd", "remove", "accounts"]

    static func run(verb: String, rest: [String], args: ParsedArguments) throws -> Int32 {
        if args[AgentCommand.connect] != nil {
            throw UsageError(message: "\(verb) changes the accounts file in the data folder; run it without --connect (--data DIR names the server's folder).", command: AgentCommand.name)
        }
        let path = AccountsFile.path(inDataFolder: DataOptions.folder(args))
        if verb == "accounts" { return try list(path: path, json: args.has(AgentCommand.json)) }
        guard let name = rest.first, rest.count == 1 else {
            throw UsageError(message: "usage: kefu agent \(verb) NAME\(verb == "add" ? " [--role supervisor]" : "").", command: AgentCommand.name)
        }
        if let problem = AgentAccount.problem(withName: name) {
            throw UsageError(message: "'\(name)': \(problem).", command: AgentCommand.name)
        }
        if args[AgentCommand.role] != nil && verb != "add" {
            throw UsageError(message: "--role is for add; to change a role, remove the account and add it again.", command: AgentCommand.name)
        }
        switch verb {
        case "add": return try add(name, role: try role(args), path: path)
        case "passwd": return try passwd(name, path: path)
        default: return try remove(name, path: path)
        }
    }

    private static func role(_ args: ParsedArguments) throws -> AgentRole {
        guard let text = args[AgentCommand.role] else { return .agent }
        guard let role = AgentRole(rawValue: text) else {
            throw UsageError(message: "--role takes agent or supervisor, not '\(text)'.", command: AgentCommand.name)
        }
        return role
    }

    private static func add(_ name: String, role: AgentRole, path: String) throws -> Int32 {
        let password = PasswordHash.generatePassword()
        let account = AgentAccount(name: name, role: role, password: PasswordHash(password: password))
        try change(path) { file in
            if file.account(named: name) != nil {
                throw CommandFailure(message: "agent \(name) already has an account; `kefu agent passwd \(name)` gives them a new password")
            }
            file.save(account)
        }
        announce(password, "added \(name) (\(role.rawValue)) to \(path)")
        return 0
    }

    private static func passwd(_ name: String, path: String) throws -> Int32 {
        let password = PasswordHash.generatePassword()
        let hash = PasswordHash(password: password)
        try change(path) { file in
            guard var account = file.account(named: name) else { throw unknown(name) }
            account.password = hash
            file.save(account)
        }
        announce(password, "new password for \(name) in \(path); the old one no longer works for new logins")
        return 0
    }

    private static func remove(_ name: String, path: String) throws -> Int32 {
        try change(path) { file in
            guard file.remove(named: name) else { throw unknown(name) }
        }
        print("OK \(name) removed from \(path); they can no longer log in (a session already open lasts until it ends).")
        return 0
    }

    private static func list(path: String, json: Bool) throws -> Int32 {
        let file: AccountsFile
        do { file = try AccountsFile.read(path: path) } catch {
            throw CommandFailure(message: "cannot read \(path): \(error)")
        }
        for notice in file.notices { printError("kefu: \(notice)") }
        if json {
            print(JSONValue.line(file.accounts.map { ["name": $0.name, "role": $0.role.rawValue] }))
        } else if file.accounts.isEmpty {
            print("No agent accounts in \(path). Create one with `kefu agent add NAME`.")
        } else {
            for account in file.accounts { print("\(account.name)  \(account.role.rawValue)") }
        }
        return 0
    }

    private static func unknown(_ name: String) -> CommandFailure {
        CommandFailure(message: "no agent account named \(name); `kefu agent accounts` lists them, `kefu agent add \(name)` creates one")
    }

    /// Rewrites the file under its lock, reporting lines it could not read (they are kept).
    private static func change(_ path: String, _ edit: (inout AccountsFile) throws -> Void) throws {
        let written: AccountsFile
        do {
            written = try AccountsFile.update(path: path, edit).file
        } catch let error as SystemError {
            throw CommandFailure(message: "cannot change \(path): \(error). Pass --data DIR with the server's data folder, as a user who may write it.")
        }
        for notice in written.notices { printError("kefu: \(notice) (kept as it is; fix or delete the line)") }
    }

    /// The password alone on standard output, so `PASSWORD=$(kefu agent add NAME)` works;
    /// what happened on standard error.
    private static func announce(_ password: String, _ what: String) {
        printError("kefu agent: \(what). The password, shown only this once (give it to the agent privately):")
        print(password)
    }
}
