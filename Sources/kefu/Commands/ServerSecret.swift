import Foundation
import KefuCore

/// The shared secrets of `kefu serve` (the agent token, the integration token): never a
/// default compiled into the program, and never readable by other users of the machine.
enum ServerSecret {
    /// `$environment` when set; else the file `name` in the data folder, created with 32 random
    /// bytes (hex) and mode 0600 when missing. A file others can read is used, with a warning
    /// that says how to fix it.
    static func load(environment: String, file name: String, dataFolder: String) throws -> String {
        if let value = ProcessInfo.processInfo.environment[environment], !value.isEmpty { return value }
        let path = (dataFolder as NSString).appendingPathComponent(name)
        if let existing = read(path) { return existing }
        let secret = SecureRandom.hex(bytes: 32)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            // Another kefu process on the same folder may have just created it.
            if errno == EEXIST, let existing = read(path) { return existing }
            throw CommandFailure(message: "cannot create \(path): \(String(cString: strerror(errno))); set \(environment) or fix the data folder's permissions")
        }
        _ = Array((secret + "\n").utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        printError("kefu serve: created \(name) in \(path) (mode 0600)")
        return secret
    }

    private static func read(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
              !text.isEmpty else { return nil }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            printError("kefu serve: warning: \(path) can be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 \(path)")
        }
        return text
    }
}
