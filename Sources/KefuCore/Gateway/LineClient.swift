import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking client for kefu serve's line protocols: send a line, read lines back, each
/// read bounded by a timeout so a server that stops answering fails the caller instead of
/// hanging it. One client for `kefu agent --connect`, the tests and the benchmarks, so the
/// framing (lines, reply blocks, multi-line answers ending in ".") is read one way.
public final class LineClient {
    public let address: Socket.Address
    /// How long one read waits for the server.
    public let timeout: TimeInterval
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 65536)

    /// Connects; throws `SystemError` when nothing listens there.
    public init(_ address: Socket.Address, timeout: TimeInterval = 10) throws {
        self.address = address
        self.timeout = timeout
        fd = try Socket.connect(address)
        let seconds = Int(timeout.rounded(.down))
        var value = timeval(tv_sec: seconds, tv_usec: Int(((timeout - Double(seconds)) * 1e6).rounded()))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    /// Closes the connection; further sends and reads fail. Closing twice is harmless.
    public func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    // MARK: Sending

    /// Sends `line` and its line break.
    public func send(_ line: String) throws { try send(bytes: Array((line + "\n").utf8)) }

    /// Sends bytes as they are (partial lines, invalid UTF-8, several lines at once).
    public func send(bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw LineClientError.closed(address) }
            sent += n
        }
    }

    // MARK: Reading

    /// The next line, without its line break.
    public func line() throws -> String { try read(until: [0x0A]) }

    /// The lines up to the next empty line, the end of a reply block in plain customer mode.
    public func block() throws -> String { try read(until: [0x0A, 0x0A]) }

    /// Sends an agent-protocol command and returns its answer's lines, skipping pushed `*`
    /// lines. A `multiline` answer (`LIST`, `SHOW`) is its status line and body, up to the
    /// line holding a single "."; an `ERR` answer is always one line.
    public func request(_ command: String, multiline: Bool = false) throws -> [String] {
        try send(command)
        var lines: [String] = []
        while true {
            let next = try line()
            if next.hasPrefix("* ") { continue }
            if lines.isEmpty && (next.hasPrefix("ERR") || !multiline) { return [next] }
            if next == "." { return lines }
            lines.append(next)
        }
    }

    /// Whether the server closes the connection within the timeout; what it sends before
    /// closing is read and dropped.
    public func isClosed() -> Bool {
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
        }
    }

    private func read(until marker: [UInt8]) throws -> String {
        var searched = 0
        while true {
            if let end = find(marker, from: searched) {
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + marker.count)
                return text
            }
            searched = max(0, buffer.count - marker.count + 1)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { throw LineClientError.closed(address) }
            if n < 0 { throw errno == EAGAIN || errno == EWOULDBLOCK ? LineClientError.noAnswer(address, after: timeout) : LineClientError.closed(address) }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    private func find(_ marker: [UInt8], from start: Int) -> Int? {
        guard buffer.count >= marker.count, start <= buffer.count - marker.count else { return nil }
        for i in start...(buffer.count - marker.count) where buffer[i..<(i + marker.count)].elementsEqual(marker) { return i }
        return nil
    }
}

/// Why a `LineClient` got no answer, worded for whoever runs the client.
public enum LineClientError: Error, Equatable, CustomStringConvertible {
    case closed(Socket.Address)
    case noAnswer(Socket.Address, after: TimeInterval)

    public var description: String {
        switch self {
        case .closed(let address):
            return "the server at \(address) closed the connection; check that it still runs (its stderr says why it closed)"
        case .noAnswer(let address, let seconds):
            return "the server at \(address) did not answer within \(Int(seconds)) s; check that it runs and that this is the right port"
        }
    }
}
