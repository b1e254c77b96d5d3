import Foundation
import KefuCore

/// `--data DIR` and `--store URL`, shared by the commands that read or write the queue and
/// the event log.
enum DataOptions {
    static let data = Option("--data", value: "DIR", help: "the data folder", default: "$KEFU_DATA or ./.kefu")
    /// `--store redis://…`: tickets and events on Redis instead of the data folder's journals.
    static let store = Option("--store", value: "URL", help: """
        tickets and events on Redis, shared by several kefu serve instances:
        redis://[user:password@]host:port/db (default: the journals in the data
        folder, which still holds accounts and secrets; see docs/SCALING.md)
        """)

    static func folder(_ args: ParsedArguments) -> String { args[data] ?? ServiceDesk.defaultFolder() }

    /// Opens the data folder, printing what reading it turned up (a torn last record …) on stderr.
    /// - Parameter readOnly: for commands that only read; they then work on a folder this
    ///   user cannot write (a read-only disk, a copy, another user's folder they may read).
    static func open(_ args: ParsedArguments, readOnly: Bool = false) throws -> ServiceDesk {
        let folder = folder(args)
        if let url = args[store] {
            // The journals are on Redis, but the folder still holds the accounts, the secrets
            // and the conversations moved out of memory.
            if !readOnly {
                do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                    throw CommandFailure(message: "cannot create the data folder \(folder): \(error.localizedDescription). Pass --data DIR with a writable folder.")
                }
            }
            return try redis(url, folder: folder)
        }
        do {
            let desk = try ServiceDesk(folder: folder, readOnly: readOnly)
            for notice in desk.notices { printError("kefu: \(notice)") }
            return desk
        } catch let error as SystemError {
            let what = readOnly ? "Pass --data DIR with a folder you can read." : "Pass --data DIR with a writable folder."
            throw CommandFailure(message: "cannot open the data folder \(folder): \(error). \(what)")
        }
    }

    /// The tickets and events on the Redis at `url`, the data folder for the rest.
    static func redis(_ url: String, folder: String) throws -> ServiceDesk {
        guard url.hasPrefix("redis://") else {
            throw CommandFailure(message: "--store takes redis://[user:password@]host:port/db, not '\(url)'")
        }
        do {
            return try RedisStore.desk(url: url, folder: folder)
        } catch let error as RedisError {
            throw CommandFailure(message: "cannot use the store \(redactedURL(url)): \(error)")
        }
    }

    /// The events the commands that report read: the store's when `--store` is given, else the
    /// data folder's log (read-only).
    static func events(_ args: ParsedArguments) throws -> (events: [ServiceEvent], notices: [Journal.Notice]) {
        if args[store] != nil { return try open(args, readOnly: true).events.readAll() }
        return try EventLog.read(folder: folder(args))
    }

    /// The URL without its password, for messages.
    static func redactedURL(_ url: String) -> String {
        (try? RedisURL(url).description) ?? "(the --store URL)"
    }
}
