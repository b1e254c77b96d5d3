import Foundation

/// Temporary folders for tests, all under one folder per test run that is removed when the
/// run ends, so a run leaves nothing behind in the temporary directory.
enum Scratch {
    static let root: String = {
        let root = NSTemporaryDirectory() + "kefu-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Scratch.root) }
        return root
    }()

    /// A fresh path (not created) for a folder named after what it is for.
    static func folder(_ purpose: String) -> String {
        root + "/\(purpose)-" + UUID().uuidString
    }
}
