/// Which customer each customer line speaks for: the engine asks it for the `CustomerKey`
/// of every line, so who may reach whose conversation is decided in this one place.
///
/// A plain connection speaks for one customer, anonymous until proven otherwise; a session on
/// a JSON Lines connection for the customer it names, scoped to the connection unless the
/// connection authenticated as the integration. A resume code attaches a connection (or one
/// of its sessions) to the customer it was given to. Owned by the engine thread.
struct CustomerDirectory {
    private struct Connection {
        /// The plain connection's customer, once it has one.
        var plain: String?
        /// The random part of an unauthenticated JSON connection's keys.
        var scope: String?
        /// Sessions attached to a customer with a resume code.
        var resumed: [String: String] = [:]
    }

    private var connections: [Int: Connection] = [:]

    /// The customer a line from `speaker` on `connection` speaks for.
    mutating func key(for speaker: Speaker, on connection: Int) -> String {
        switch speaker {
        case .plain(let label):
            if let key = connections[connection]?.plain { return key }
            let key = CustomerKey.anonymous(label: label)
            connections[connection, default: Connection()].plain = key
            return key
        case .session(let session, let customer, let trusted):
            if let key = connections[connection]?.resumed[session] { return key }
            if trusted { return CustomerKey.integration(customer) }
            return CustomerKey.scoped(to: scope(of: connection), name: customer)
        case .web(let key, _, _):
            // The HTTP channel checked the caller's token before naming the key.
            return key
        }
    }

    /// The random part of an unauthenticated JSON connection's keys, chosen on first use.
    private mutating func scope(of connection: Int) -> String {
        if let scope = connections[connection]?.scope { return scope }
        let scope = CustomerKey.newScope()
        connections[connection, default: Connection()].scope = scope
        return scope
    }

    /// From now on `speaker` on `connection` speaks for `key` (a resume code proved it).
    mutating func attach(_ key: String, as speaker: Speaker, on connection: Int) {
        switch speaker {
        case .plain: connections[connection, default: Connection()].plain = key
        case .session(let session, _, _): connections[connection, default: Connection()].resumed[session] = key
        case .web: break  // a web conversation is opened by its token, never by a resume code
        }
    }

    mutating func forget(_ connection: Int) {
        connections[connection] = nil
    }
}
