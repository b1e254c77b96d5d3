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

    /// - Parameter readOnly: for commands that only read: nothing is created or changed, so
    /// they work on a folder or disk this process cannot write.
    public init(folder: String, readOnly: Bool = false) throws {
        self.folder = folder
        tickets = try TicketStore(folder: folder, readOnly: readOnly)
        events = try EventLog(folder: folder, readOnly: readOnly)
    }

    /// What reading the files turned up (torn last records, damaged lines), for stderr.
    public var notices: [Journal.Notice] { tickets.notices + events.notices }
}
