import Foundation

/// A line from a connection, handed from the I/O thread to the engine.
enum GatewayInput: Sendable {
    /// A customer's message. `session` is nil on a plain connection.
    case customer(connection: Int, session: String?, customer: String, text: String, received: UInt64)
    /// A customer says who they are without a message (plain `/id NAME`, or a JSON line without text).
    case identify(connection: Int, session: String?, customer: String, received: UInt64)
    case customerGone(connection: Int)
    /// An agent connection was accepted from `address` (the client's IP, for login throttling).
    case agentConnected(connection: Int, address: String)
    case agent(connection: Int, line: String, received: UInt64)
    /// The authenticator checked an `AUTH`.
    case login(AgentAuthenticator.Result)
    case agentGone(connection: Int)
    case reload(KnowledgeBase)
}

/// Bytes for a connection, handed from the engine back to the I/O thread.
struct GatewayOutput: Sendable {
    let connection: Int
    let bytes: [UInt8]
    /// Close the connection once these bytes are written.
    var close = false
    /// When the line this answers arrived (monotonic ns), for reply latency; nil for pushes.
    var received: UInt64?
}

/// Counters the gateway keeps for `STATS`.
final class GatewayCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies = [Double](repeating: 0, count: 8192)
    private var latencyCount = 0
    private(set) var messages = 0
    var customerConnections = 0
    var agentConnections = 0

    func recordReply(latencyMicroseconds: Double) {
        lock.withLock {
            latencies[latencyCount % latencies.count] = latencyMicroseconds
            latencyCount += 1
        }
    }

    func countMessage() { lock.withLock { messages += 1 } }

    /// p50 and p99 reply latency over the last 8,192 replies, in milliseconds.
    func latencyPercentiles() -> (p50: Double, p99: Double) {
        lock.withLock {
            let n = min(latencyCount, latencies.count)
            guard n > 0 else { return (0, 0) }
            let sorted = latencies[0..<n].sorted()
            return (Measure.quantile(Array(sorted), 0.5) / 1000, Measure.quantile(Array(sorted), 0.99) / 1000)
        }
    }

    func connections(customer: Int, agent: Int) { lock.withLock { customerConnections = customer; agentConnections = agent } }
    func snapshot() -> (customers: Int, agents: Int, messages: Int) { lock.withLock { (customerConnections, agentConnections, messages) } }
}

