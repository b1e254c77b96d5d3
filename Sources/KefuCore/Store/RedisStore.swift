import Foundation

/// `--store redis://[user:password@]host:port/db`: tickets, events and conversations on
/// Redis, for several gateway instances (and `kefu agent`, `kefu stats`, `kefu report`)
/// sharing one queue. The data folder still holds the agent accounts, the secrets and the
/// conversations moved out of memory. See `docs/SCALING.md`.
public enum RedisStore {
    /// The desk for `folder` with its tickets and events on the Redis at `url`. Checks that
    /// Redis answers (`PING`), so a wrong address fails at start rather than at the first
    /// handoff.
    public static func desk(url: String, folder: String, prefix: String = "kefu:", clientName: String = "kefu") throws -> ServiceDesk {
        var configuration = try RedisConfiguration(url)
        configuration.clientName = clientName
        return try desk(configuration: configuration, folder: folder, prefix: prefix)
    }

    public static func desk(configuration: RedisConfiguration, folder: String, prefix: String = "kefu:") throws -> ServiceDesk {
        // Tickets and events on clients of their own: the committer's event batches do not
        // wait behind the engine's ticket scripts.
        let tickets = RedisClient(configuration: configuration)
        try tickets.ping()
        let events = RedisClient(configuration: configuration)
        return ServiceDesk(folder: folder, tickets: RedisTicketQueue(client: tickets, prefix: prefix),
                           events: RedisEventSink(client: events, prefix: prefix),
                           relay: RedisLiveRelay(configuration: configuration, client: tickets, prefix: prefix),
                           conversations: RedisConversationRecords(client: tickets, prefix: prefix))
    }
}
