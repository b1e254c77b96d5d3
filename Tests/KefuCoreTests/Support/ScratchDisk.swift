import Foundation

/// A small tmpfs mounted for one test, to fill up or make read-only as a real disk would be;
/// nil where this machine does not let the tests mount one (not root, no CAP_SYS_ADMIN).
final class ScratchDisk {
    let path: String

    init?(kilobytes: Int) {
        path = Scratch.folder("disk")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.mount(["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", path]) else {
            try? FileManager.default.removeItem(atPath: path)
            return nil
        }
    }

    deinit {
        _ = Self.run("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Remounts the disk read-only: nothing on it can be changed, not even by root.
    func makeReadOnly() -> Bool { Self.mount(["-o", "remount,ro", path]) }

    /// Writes a file until the disk refuses; returns its path.
    func fill() -> String {
        let filler = path + "/filler"
        guard let file = fopen(filler, "w") else { return filler }
        let chunk = [UInt8](repeating: 0x20, count: 4096)
        while fwrite(chunk, 1, chunk.count, file) == chunk.count && fflush(file) == 0 {}
        fclose(file)
        return filler
    }

    private static func mount(_ arguments: [String]) -> Bool { run("/bin/mount", arguments) }

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
