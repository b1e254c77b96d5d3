import KefuCore

/// `--kb DIR`, shared by every command that serves from a knowledge base.
enum KnowledgeOptions {
    static let spec = OptionSpec(name: "--kb", takesValue: true)

    /// Loads and compiles the knowledge base, turning load problems into one failure that
    /// lists every `file:line: message`.
    static func load(_ args: ParsedArguments) throws -> KnowledgeBase {
        let folder = args.value("--kb") ?? KnowledgeLoader.defaultFolder()
        do {
            return try KnowledgeLoader.load(from: folder)
        } catch let error as KnowledgeLoadError {
            throw CommandFailure(message: "cannot build the knowledge base in \(folder):\n\(error.description)")
        }
    }
}
