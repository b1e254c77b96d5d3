#if canImport(Glibc)
import Glibc
#endif

/// One input line as bytes, and what was wrong with it, if anything.
public enum InputLine: Sendable, Equatable {
    case text(String)
    /// The bytes are not valid UTF-8: the caller says so and moves on.
    case invalidUTF8(byteCount: Int)
    /// Longer than the limit: the rest of the line was read and discarded.
    case tooLong(byteCount: Int)
}

/// Reads lines from a file descriptor without trusting them.
///
/// `readLine()` repairs invalid UTF-8 silently and grows without bound on a line with no
/// newline; a service that reads from customers needs both cases reported instead.
public struct LineReader {
    private let fd: Int32
    private let maxBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    public init(fileDescriptor: Int32 = 0, maxBytes: Int = 4096) {
        self.fd = fileDescriptor
        self.maxBytes = maxBytes
    }

    /// The next line without its newline, or nil at end of input.
    public mutating func next() -> InputLine? {
        var discarded = 0
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                var line = Array(buffer[start..<newline])
                start = newline + 1
                if line.last == 0x0D { line.removeLast() }
                if discarded > 0 { return .tooLong(byteCount: discarded + line.count) }
                return Self.decode(line, maxBytes: maxBytes)
            }
            if buffer.count - start > maxBytes {
                discarded += buffer.count - start
                buffer.removeAll(keepingCapacity: true)
                start = 0
            }
            if atEnd {
                guard start < buffer.count || discarded > 0 else { return nil }
                let line = Array(buffer[start...])
                buffer.removeAll()
                start = 0
                if discarded > 0 { return .tooLong(byteCount: discarded + line.count) }
                return Self.decode(line, maxBytes: maxBytes)
            }
            if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { atEnd = true; continue }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    static func decode(_ bytes: [UInt8], maxBytes: Int) -> InputLine {
        if bytes.count > maxBytes { return .tooLong(byteCount: bytes.count) }
        guard let text = String(validating: bytes, as: UTF8.self) else { return .invalidUTF8(byteCount: bytes.count) }
        return .text(text)
    }
}
