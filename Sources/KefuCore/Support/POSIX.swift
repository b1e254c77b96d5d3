import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on what, and `errno` captured where it failed.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let path: String
    public let code: Int32
    public var description: String { "\(call) \(path): \(String(cString: strerror(code))) (errno \(code))" }

    public init(call: String, path: String, code: Int32) {
        self.call = call
        self.path = path
        self.code = code
    }
}

/// Raw POSIX calls used by the durable store, in one place: EINTR is retried, partial
/// writes are finished, and errors carry errno and the path.
enum POSIX {
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw SystemError(call: "open", path: path, code: errno)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(call: "write", path: path, code: errno)
            }
            offset += n
        }
    }

    /// Sends what the kernel takes now, without waiting (an interrupted call is retried): the
    /// byte count, 0 when its buffer is full, or the `errno` of a failure (EPIPE, ECONNRESET:
    /// the peer is gone). The one non-blocking send for the gateway's sockets and `TCPClient`.
    static func sendAvailable(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Int, SystemErrno> {
        while true {
            let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return .success(n) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .success(0)
            case let code: return .failure(SystemErrno(code: code))
            }
        }
    }

    static func fsync(_ fd: Int32, path: String) throws {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw SystemError(call: "fsync", path: path, code: errno)
        }
    }

    /// Takes an exclusive advisory lock, waiting for other processes to release theirs.
    static func lockExclusive(_ fd: Int32, path: String) throws {
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            throw SystemError(call: "flock", path: path, code: errno)
        }
    }

    /// Takes a shared advisory lock, for a reader that must not see a record half-written.
    static func lockShared(_ fd: Int32, path: String) throws {
        while flock(fd, LOCK_SH) != 0 {
            if errno == EINTR { continue }
            throw SystemError(call: "flock", path: path, code: errno)
        }
    }

    static func unlock(_ fd: Int32) {
        _ = flock(fd, LOCK_UN)
    }

    static func size(_ fd: Int32, path: String) throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError(call: "fstat", path: path, code: errno) }
        return Int(info.st_size)
    }

    /// Reads `count` bytes at `offset` (fewer at end of file).
    static func read(_ fd: Int32, at offset: Int, count: Int, path: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(call: "pread", path: path, code: errno)
            }
            if n == 0 { break }
            done += n
        }
        return Array(buffer[0..<done])
    }

    static func truncate(_ fd: Int32, to length: Int, path: String) throws {
        guard ftruncate(fd, off_t(length)) == 0 else { throw SystemError(call: "ftruncate", path: path, code: errno) }
    }

    static func makeDirectory(_ path: String) throws {
        var components: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            components.append(String(part))
            let prefix = components.joined(separator: "/")
            if prefix.isEmpty { continue }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw SystemError(call: "mkdir", path: prefix, code: errno)
            }
        }
    }

    /// Replaces the file at `path` with `bytes` so that a crash leaves the old file or the new
    /// one, never a mix: written to a temporary file beside it (mode 0600), synced, renamed
    /// over it, and the folder synced so the rename itself is durable.
    static func replaceAtomically(_ path: String, with bytes: [UInt8]) throws {
        let temporary = "\(path).tmp-\(getpid())"
        let fd = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: 0o600)
        do {
            defer { close(fd) }
            guard fchmod(fd, 0o600) == 0 else { throw SystemError(call: "fchmod", path: temporary, code: errno) }
            try writeAll(fd, bytes, path: temporary)
            try fsync(fd, path: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw SystemError(call: "rename", path: path, code: code)
        }
        let folder = (path as NSString).deletingLastPathComponent
        let dir = try open(folder.isEmpty ? "." : folder, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(dir) }
        try fsync(dir, path: folder)
    }
}

/// An `errno` as an error, for `Result`s of calls whose callers decide what each one means.
struct SystemErrno: Error, Equatable {
    let code: Int32
}
