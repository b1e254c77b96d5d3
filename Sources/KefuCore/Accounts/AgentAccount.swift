/// What an agent may do beyond their own tickets.
public enum AgentRole: String, Sendable, CaseIterable {
    /// Works on the tickets they claim.
    case agent
    /// Also transfers and releases tickets other agents hold (a stuck or absent colleague).
    case supervisor
}

/// One line of the accounts file: who may log in on the agent port, as what, and the salted
/// hash their password must match.
public struct AgentAccount: Sendable, Equatable {
    public let name: String
    public var role: AgentRole
    public var password: PasswordHash

    public init(name: String, role: AgentRole, password: PasswordHash) {
        self.name = name
        self.role = role
        self.password = password
    }

    /// Why `name` cannot be an agent's name, or nil when it can. Names travel as one word of
    /// the line protocol (`AUTH name password`, `TRANSFER id name`) and one field of the file.
    public static func problem(withName name: String) -> String? {
        if name.isEmpty { return "an agent name cannot be empty" }
        if name.count > 64 { return "an agent name is at most 64 characters" }
        if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "an agent name is one word, without spaces or control characters"
        }
        if name.hasPrefix("#") { return "an agent name cannot start with '#' (that starts a comment in the accounts file)" }
        return nil
    }
}
