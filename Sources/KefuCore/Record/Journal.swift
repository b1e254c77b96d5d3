import Foundation

/// An append-only file of records, safe against crashes and shared between processes.
///
/// Each record is one line: eight hex digits of CRC-32, a space, the JSON payload, a
/// newline. A record is *acknowledged* only when `append` returns: it has been written
/// and `fsync`ed. Every append takes an exclusive `flock` on the file and first reads what
/// other processes appended since, so several `kefu` processes on one data folder see one
/// history in one order.
///
/// On opening, a last record that is incomplete or fails its checksum is the trace of a
/// write that was interrupted (a killed process, a full disk) and was never acknowledged:
/// it is reported, cut off (exactly at the end of the last good record), and not applied. A
/// damaged record in the middle is reported with its line and skipped; the records after it
/// still count. The owner still sees a damaged record's bytes (`salvage`), so that what can be
/// read from them — a ticket id — is never handed out again.
public final class Journal: @unchecked Sendable {
    /// One intact record: its payload and its line in the file, for notices about it.
    public typealias Apply = (_ payload: Data, _ line: Int) throws -> Void
    /// Something found while reading the journal that an operator should know about.
    public struct Notice: Sendable, CustomStringConvertible {
        public let path: String
        public let line: Int
        public let message: String
        public var description: String { "\(path):\(line): \(message)" }
    }

    public let path: String
    /// Opened only to read (`kefu stats`, `kefu agent list` …): works on a folder or disk the
    /// process cannot write, never changes the file, and refuses to append.
    public let readOnly: Bool
    private let fd: Int32
    private var offset = 0
    private var lineNumber = 0
    private let lock = NSLock()
    /// Records written by `append(sync: false)` and not yet synced (under `lock`).
    private var unsynced = false
    public private(set) var notices: [Notice] = []
    /// Called with the raw bytes of every record that fails its checksum or was cut short,
    /// before it is discarded: what the owner can still read there (an id) must not be reused.
    public var salvage: ((ArraySlice<UInt8>) -> Void)?

    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        self.readOnly = readOnly
        fd = try POSIX.open(path, flags: readOnly ? O_RDONLY : O_RDWR | O_CREAT | O_APPEND, mode: 0o600)
    }

    deinit { close(fd) }

    /// Reads every record not yet seen, in order, and hands each payload to `apply`.
    /// Call it once at start-up; `append` keeps the reader up to date afterwards.
    public func catchUp(_ apply: Apply) throws {
        try withFileLock { try readNew(apply) }
    }

    /// Writes one record and syncs it; returns when it is durable. `prepare` runs under the
    /// lock after catching up with other writers, so it sees the latest state and may
    /// refuse (throw) or return the payload to write (nil writes nothing).
    /// - Parameter sync: false to leave the `fsync` to a later `syncWritten()` (group commit):
    ///   the record is then in the file for every process at once, durable only after that call.
    @discardableResult
    public func append(catchUp apply: Apply, sync: Bool = true, prepare: () throws -> Data?) throws -> Bool {
        guard !readOnly else { throw SystemError(call: "append", path: path + " (opened read-only)", code: EROFS) }
        return try withFileLock {
            try readNew(apply)
            guard let payload = try prepare() else { return false }
            var line = Self.checksumPrefix(payload)
            line.append(contentsOf: payload)
            line.append(0x0A)
            try POSIX.writeAll(fd, line, path: path)
            if sync { try POSIX.fsync(fd, path: path) } else { unsynced = true }
            offset += line.count
            lineNumber += 1
            return true
        }
    }

    /// Syncs the records `append(sync: false)` wrote so far; nothing when there are none.
    /// Needs no file lock: `fsync` covers every write that returned before it, whoever made it.
    public func syncWritten() throws {
        let pending = lock.withLock { () -> Bool in
            defer { unsynced = false }
            return unsynced
        }
        guard pending else { return }
        do {
            try POSIX.fsync(fd, path: path)
        } catch {
            lock.withLock { unsynced = true }
            throw error
        }
    }

    /// Writes several records with one write and one sync: the gateway's group commit.
    public func appendBatch(_ payloads: [Data]) throws {
        guard !payloads.isEmpty else { return }
        guard !readOnly else { throw SystemError(call: "append", path: path + " (opened read-only)", code: EROFS) }
        try withFileLock {
            try readNew { _, _ in }
            var bytes: [UInt8] = []
            for payload in payloads {
                bytes.append(contentsOf: Self.checksumPrefix(payload))
                bytes.append(contentsOf: payload)
                bytes.append(0x0A)
            }
            try POSIX.writeAll(fd, bytes, path: path)
            try POSIX.fsync(fd, path: path)
            offset += bytes.count
            lineNumber += payloads.count
        }
    }

    private func withFileLock<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard !readOnly else {
            // A reader shares the lock: it waits for a writer to finish, never blocks another reader.
            try POSIX.lockShared(fd, path: path)
            defer { POSIX.unlock(fd) }
            return try body()
        }
        try POSIX.lockExclusive(fd, path: path)
        defer { POSIX.unlock(fd) }
        return try body()
    }

    /// Records a problem the owner found in an intact record (one that cannot be applied).
    public func report(line: Int, _ message: String) {
        notices.append(Notice(path: path, line: line, message: message))
    }

    private func readNew(_ apply: Apply) throws {
        let size = try POSIX.size(fd, path: path)
        guard size > offset else { return }
        let bytes = try POSIX.read(fd, at: offset, count: size - offset, path: path)
        var start = 0
        while start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                // No newline: the last write was cut short. We hold the lock, so no other
                // process is mid-write: cut the fragment off so later appends stay clean.
                // `offset` already counts every complete record before it.
                let fragment = bytes[start...]
                salvage?(fragment)
                if readOnly {
                    // Not ours to cut: the next writer will. It is not applied either way.
                    notices.append(Notice(path: path, line: lineNumber + 1,
                                          message: "incomplete last record from an interrupted write; it was never acknowledged and is not applied (\(fragment.count) bytes at offset \(offset); opened read-only, so left for the next writer to cut)"))
                    return
                }
                notices.append(Notice(path: path, line: lineNumber + 1,
                                      message: "incomplete last record from an interrupted write; it was never acknowledged: cut \(fragment.count) bytes at offset \(offset)"))
                try POSIX.truncate(fd, to: offset, path: path)
                return
            }
            lineNumber += 1
            let record = bytes[start..<newline]
            start = newline + 1
            offset += record.count + 1
            guard let payload = Self.verify(record) else {
                salvage?(record)
                let isLast = start >= bytes.count
                notices.append(Notice(path: path, line: lineNumber,
                                      message: isLast ? "last record fails its checksum (torn write); it was never acknowledged and is not applied"
                                                      : "record fails its checksum; skipped (the records after it are applied)"))
                continue
            }
            try apply(payload, lineNumber)
        }
    }

    /// Eight lower-case hex digits of the payload's CRC-32 and a space.
    static func checksumPrefix(_ payload: Data) -> [UInt8] {
        let crc = CRC32.checksum(payload)
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0x20, count: 9)
        for i in 0..<8 { out[i] = hex[Int((crc >> UInt32(28 - 4 * i)) & 0xF)] }
        return out
    }

    /// The payload of a well-formed record, or nil when the checksum does not match.
    static func verify(_ record: ArraySlice<UInt8>) -> Data? {
        guard record.count > 9, record[record.startIndex + 8] == 0x20,
              let expected = UInt32(String(decoding: record.prefix(8), as: UTF8.self), radix: 16) else { return nil }
        let payload = record.dropFirst(9)
        guard CRC32.checksum(payload) == expected else { return nil }
        return Data(payload)
    }
}
