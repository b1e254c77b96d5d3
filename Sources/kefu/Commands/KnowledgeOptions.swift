import KefuCore

/// `--kb DIR`, shared by every command that serves from a knowledge base.
enum KnowledgeOptions {
    static let kb = Option("--kb", value: "DIR", help: "knowledge base folder holding FAQ/ and Intents/", default: "$KEFU_KB or .")

    /// The knowledge base folder: `--kb`, else `$KEFU_KB`, else the current folder.
    static func folder(_ args: ParsedArguments) -> String { args[kb] ?? KnowledgeLoader.defaultFolder() }

    /// Loads and compiles the knowledge base, turning load problems into one failure that
    /// lists every `file:line: message`.
    static func load(_ args: ParsedArguments) throws -> KnowledgeBase {
        let folder = folder(args)
        do {
            return try KnowledgeLoader.load(from: folder)
        } catch let error as KnowledgeLoadError {
            throw CommandFailure(message: "cannot build the knowledge base in \(folder):\n\(error.description)")
        }
    }
}
