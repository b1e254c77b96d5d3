import KefuCore

/// `--data DIR`, shared by the commands that read or write the queue and the event log.
enum DataOptions {
    static let spec = OptionSpec(name: "--data", takesValue: true)

    static func folder(_ args: ParsedArguments) -> String { args.value("--data") ?? ServiceDesk.defaultFolder() }

    /// Opens the data folder, printing what reading it turned up (a torn last record …) on stderr.
    static func open(_ args: ParsedArguments) throws -> ServiceDesk {
        let folder = folder(args)
        do {
            let desk = try ServiceDesk(folder: folder)
            for notice in desk.notices { printError("kefu: \(notice)") }
            return desk
        } catch let error as SystemError {
            throw CommandFailure(message: "cannot open the data folder \(folder): \(error). Pass --data DIR with a writable folder.")
        }
    }
}
