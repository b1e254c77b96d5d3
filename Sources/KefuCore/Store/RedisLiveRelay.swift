import Foundation
import Synchronization

/// Replies for customers connected to another instance: `PUBLISH kefu:relay <ticket id>`,
/// heard by every instance through a `RedisSubscriber`. The reply itself is in the ticket
/// (its change log, `kefu:{T…}:log`, is the conversation's stream), so pub/sub's at-most-once
/// delivery loses nothing: a missed announcement is a reply seen with the next message.
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

    public func announce(ticket: String) throws {
        _ = try client.command("PUBLISH", channel, ticket)
    }

    /// Subscribes and waits (up to the connect timeout) until Redis confirmed it, so that an
    /// instance that has started hears every announcement from then on.
    public func listen(_ heard: @escaping @Sendable (String) -> Void) throws {
        let live = DispatchSemaphore(value: 0)
        let first = Atomic(true)
        let started = try RedisSubscriber(configuration: configuration, channels: [channel], onStatus: { status in
            if case .subscribed = status, first.exchange(false, ordering: .relaxed) { live.signal() }
        }, onMessage: { message in heard(message.text) })
        subscriber.withLock { $0 = started }
        _ = live.wait(timeout: .now() + .milliseconds(Int(configuration.connectTimeout.components.seconds * 1000) + 1000))
    }

    public func stop() {
        subscriber.withLock { $0?.stop(); $0 = nil }
    }
}
