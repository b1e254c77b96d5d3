import Foundation
@testable import KefuCore

/// A data folder with agent accounts, as `kefu agent add` leaves it, for every test that
/// logs an agent in. Each agent's password is `password(for:)`.
enum AgentAccountFixture {
    /// The agents every test gateway has: two agents and a supervisor.
    static let standard: [(name: String, role: AgentRole)] = [("张三", .agent), ("李四", .agent), ("主管", .supervisor)]
    /// Far below `PasswordHash.defaultIterations`: tests check many logins in debug builds.
    /// The hash format stores the count, so the server checks these exactly as real ones.
    static let iterations = 1_000

    static func password(for name: String) -> String { "pw-\(name)-secret" }

    /// Adds `agents` to the accounts file of `folder` (created if needed); returns the folder.
    @discardableResult
    static func add(_ agents: [(name: String, role: AgentRole)] = standard, to folder: String) throws -> String {
        try AccountsFile.update(path: AccountsFile.path(inDataFolder: folder)) { file in
            for agent in agents {
                file.save(AgentAccount(name: agent.name, role: agent.role,
                                       password: PasswordHash(password: password(for: agent.name), iterations: iterations)))
            }
        }
        return folder
    }

    /// A fresh data folder with the standard agents.
    static func folder() throws -> String {
        try add(to: Scratch.folder("agents"))
    }
}
