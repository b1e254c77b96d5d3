/// Who is logged in on which agent connection, with at most one connection per agent name.
///
/// A second login as the same agent takes the session over rather than being refused: the
/// person at the new desk holds the password, and a forgotten session on another machine
/// must not lock them out. The connection taken over is told and closed, so whoever
/// was there can no longer act as that agent.
struct AgentSessions {
    struct Session: Equatable {
        let name: String
        let role: AgentRole
        let address: String
    }

    private var byConnection: [Int: Session] = [:]
    private var byName: [String: Int] = [:]

    subscript(connection: Int) -> Session? { byConnection[connection] }

    /// Logs `session` in on `connection`; returns the connection it took over, if any.
    mutating func login(_ session: Session, on connection: Int) -> Int? {
        logout(connection)
        let previous = byName[session.name]
        if let previous { byConnection[previous] = nil }
        byConnection[connection] = session
        byName[session.name] = connection
        return previous
    }

    mutating func logout(_ connection: Int) {
        guard let session = byConnection.removeValue(forKey: connection) else { return }
        if byName[session.name] == connection { byName[session.name] = nil }
    }

    func connection(named name: String) -> Int? { byName[name] }

    /// Every logged-in connection, in a stable order.
    var connections: [Int] { byConnection.keys.sorted() }
}
