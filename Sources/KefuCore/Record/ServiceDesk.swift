import Foundation

/// The durable side of the service: the handoff queue and the event log of one data folder.
public final class ServiceDesk: Sendable {
    public let folder: String
    public let tickets: TicketStore
    public let events: EventLog

    /// The data folder when none is given: `$KEFU_DATA`, else `.kefu` in the working directory.
    public static func defaultFolder() -> String {
        if let env = ProcessInfo.processInfo.environment["KEFU_DATA"], !env.isEmpty { return env }
        return (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(".kefu")
    }

    public init(folder: String) throws {
        self.folder = folder
        tickets = try TicketStore(folder: folder)
        events = try EventLog(folder: folder)
    }

    /// What reading the files turned up (torn last records, damaged lines), for stderr.
    public var notices: [Journal.Notice] { tickets.notices + events.notices }
}
