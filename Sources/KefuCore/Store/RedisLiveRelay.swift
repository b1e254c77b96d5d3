import Foundation
import Synchronization

/// News for customers and agents connected to another instance: `PUBLISH kefu:relay "<kind>
/// <ticket id> <instance>"`, heard by every instance through a `RedisSubscriber`. What it is
/// about is in the ticket (its change log, `kefu:{T…}:log`, is the conversation's stream), so
/// pub/sub's at-most-once delivery loses nothing: a missed reply is seen with the next message.
public final class RedisLiveRelay: LiveRelay, @unchecked Sendable {
    public let configuration: RedisConfiguration
    public let client: RedisClient
    public let channel: String
    private let subscriber = Mutex<RedisSubscriber?>(nil)

    public init(configuration: RedisConfiguration, client: RedisClient, prefix: String = "kefu:") {
        self.configuration = configuration
        self.client = client
        channel = prefix + "relay"
    }

    public func announce(_ notice: RelayNotice) throws {
        _ = try client.command("PUBLISH", channel, notice.wire)
    }

    /// Subscribes and waits (up to the connect timeout) until Redis confirmed it, so that an
    /// instance that has started hears every announcement from then on.
    public func listen(_ heard: @escaping @Sendable (RelayNotice) -> Void) throws {
        let live = DispatchSemaphore(value: 0)
        let first = Atomic(true)
        let started = try RedisSubscriber(configuration: configuration, channels: [channel], onStatus: { status in
            if case .subscribed = status, first.exchange(false, ordering: .relaxed) { live.signal() }
        }, onMessage: { message in RelayNotice(wire: message.text).map(heard) })
        subscriber.withLock { $0 = started }
        _ = live.wait(timeout: .now() + .milliseconds(Int(configuration.connectTimeout.components.seconds * 1000) + 1000))
    }

    public func stop() {
        subscriber.withLock { $0?.stop(); $0 = nil }
    }
}
