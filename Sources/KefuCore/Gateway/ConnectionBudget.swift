#if canImport(Glibc)
import Glibc
#endif

/// How many customers and agents `kefu serve` takes at once, so that it never runs out of
/// file descriptors: each connection holds one, and the journals, the accounts file, the
/// knowledge-base watcher, reloads and moving conversations to disk need some of their own.
/// Agents have slots of their own, beyond the customers' cap, that customers never take.
public struct ConnectionBudget: Sendable, Equatable {
    /// Descriptors kept for everything that is not a connection.
    public static let reserve = 64

    /// The process's descriptor limits, soft and hard.
    public struct Descriptors: Sendable, Equatable {
        public let soft: Int
        public let hard: Int
    }

    public let descriptors: Descriptors
    /// At most this many customers at once.
    public let customers: Int
    /// Agents may always use this many connections, whatever the customers take.
    public let agentSlots: Int

    public init(maxConnections: Int, agentSlots: Int, descriptors: Descriptors) {
        self.descriptors = descriptors
        let usable = max(2, descriptors.soft - Self.reserve)
        self.agentSlots = max(1, min(agentSlots, usable / 2))
        customers = max(1, min(maxConnections, usable - self.agentSlots))
    }

    /// Whether one more agent (or customer) fits: an agent takes a free agent slot, or a
    /// place customers left free; a customer only a customer's place.
    func admits(_ agent: Bool, customers connectedCustomers: Int, agents connectedAgents: Int) -> Bool {
        if agent { return connectedAgents < agentSlots || connectedCustomers + connectedAgents < customers + agentSlots }
        return connectedCustomers < customers
    }

    /// One line for the operator: the limits in force and where they come from.
    public var description: String {
        "descriptors: limit \(descriptors.soft) (hard \(descriptors.hard)); connections: up to \(customers) customers, \(agentSlots) more kept for agents"
    }

    /// Raises the soft descriptor limit to the hard one (thousands of connections need more
    /// than the usual 1,024) and returns the limits then in force.
    @discardableResult
    public static func raiseDescriptorLimit() -> Descriptors {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return descriptorLimit()
    }

    /// The descriptor limits in force now.
    public static func descriptorLimit() -> Descriptors {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Descriptors(soft: 1024, hard: 1024) }
        let clamp = { (v: rlim_t) in v > rlim_t(Int32.max) ? Int(Int32.max) : Int(v) }
        return Descriptors(soft: clamp(limit.rlim_cur), hard: clamp(limit.rlim_max))
    }
}
