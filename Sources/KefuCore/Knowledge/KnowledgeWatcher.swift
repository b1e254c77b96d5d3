import Foundation

/// Notices edits to the knowledge files by their modification times, sizes and count.
///
/// Polling a few hundred `stat` calls every couple of seconds is cheap and works on every
/// file system; inotify is not in Glibc's Swift overlay.
public struct KnowledgeWatcher: Sendable {
    public let folder: String
    private var fingerprint: [String: String]

    public init(folder: String) {
        self.folder = folder
        fingerprint = Self.fingerprint(folder)
    }

    /// True once per change since the last call.
    public mutating func changed() -> Bool {
        let now = Self.fingerprint(folder)
        defer { fingerprint = now }
        return now != fingerprint
    }

    static func fingerprint(_ folder: String) -> [String: String] {
        var result: [String: String] = [:]
        let fm = FileManager.default
        for sub in ["FAQ", "Intents"] {
            let root = (folder as NSString).appendingPathComponent(sub)
            guard let files = fm.enumerator(atPath: root) else { continue }
            for case let relative as String in files {
                let path = (root as NSString).appendingPathComponent(relative)
                guard let attributes = try? fm.attributesOfItem(atPath: path) else { continue }
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                result[path] = "\(modified)/\(attributes[.size] ?? 0)"
            }
        }
        return result
    }
}

/// Recompiles the knowledge base after an edit: a broken edit is reported and the one
/// serving stays; a good one is handed over whole.
public enum KnowledgeReload {
    public enum Outcome: Sendable {
        case reloaded(KnowledgeBase)
        case refused([LoadProblem])
    }

    public static func attempt(folder: String) -> Outcome {
        do {
            return .reloaded(try KnowledgeLoader.load(from: folder))
        } catch let error as KnowledgeLoadError {
            return .refused(error.problems)
        } catch {
            return .refused([LoadProblem(file: folder, line: 0, "\(error)")])
        }
    }
}
