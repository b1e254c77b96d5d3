import KefuCore

/// `--data DIR`, shared by the commands that read or write the queue and the event log.
enum DataOptions {
    static let spec = OptionSpec(name: "--data", takesValue: true)

    static func folder(_ args: ParsedArguments) -> String { args.value("--data") ?? ServiceDesk.defaultFolder() }

    /// Opens the data folder, printing what reading it turned up (a torn last record …) on stderr.
    /// - Parameter readOnly: for commands that only read; they then work on a folder this
    ///   user cannot write (a read-only disk, a copy, another user's folder they may read).
    static func open(_ args: ParsedArguments, readOnly: Bool = false) throws -> ServiceDesk {
        let folder = folder(args)
        do {
            let desk = try ServiceDesk(folder: folder, readOnly: readOnly)
            for notice in desk.notices { printError("kefu: \(notice)") }
            return desk
        } catch let error as SystemError {
            let what = readOnly ? "Pass --data DIR with a folder you can read." : "Pass --data DIR with a writable folder."
            throw CommandFailure(message: "cannot open the data folder \(folder): \(error). \(what)")
        }
    }
}
