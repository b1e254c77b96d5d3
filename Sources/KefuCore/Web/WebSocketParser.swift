/// Reads the frames a WebSocket client sends (RFC 6455 §5) and turns them into
/// `WebSocketEvent`s, incrementally: bytes may arrive in any pieces, one at a time included.
///
/// Every rule a server must enforce is checked at the first byte that can break it, before
/// more is read: a frame's header is judged (masking, reserved bits, opcode, sequence,
/// length against the limits) before any of its payload is stored, so memory never grows
/// past `WebSocketLimits` whatever a header claims. Text fragments are joined into one
/// message, which must be UTF-8 as a whole; control frames may come between fragments and
/// are handed over at once.
///
/// Lenient in one place: a length in a longer form than needed (e.g. 5 in 16 bits) is
/// accepted, as most servers do; it costs nothing and some client libraries send it.
struct WebSocketParser {
    let limits: WebSocketLimits

    /// The header of the frame being received, once complete.
    private struct Frame {
        var fin: Bool
        var opcode: WebSocket.Opcode
        var length: Int
        var mask: (UInt8, UInt8, UInt8, UInt8)
        var received = 0
    }

    /// Bytes of a frame header still incomplete (2 to 14 bytes long when complete).
    private var header: [UInt8] = []
    private var frame: Frame?
    /// The payload of the control frame being received.
    private var control: [UInt8] = []
    /// The text message being assembled from its fragments.
    private var message: [UInt8] = []
    private var messageInProgress = false
    private var closed = false
    private var failure: WebSocketError?

    init(limits: WebSocketLimits = WebSocketLimits()) {
        self.limits = limits
        header.reserveCapacity(14)
    }

    /// Bytes held for frames and a message not yet complete.
    var bufferedBytes: Int { header.count + control.count + message.count }

    /// Appends bytes; returns the events they complete, in order. Throws at the first
    /// protocol violation (events completed earlier in the same bytes are dropped with it);
    /// after that it only throws the same error again. Bytes after a close frame are ignored.
    mutating func feed(_ bytes: ArraySlice<UInt8>) throws(WebSocketError) -> [WebSocketEvent] {
        if let failure { throw failure }
        var events: [WebSocketEvent] = []
        var i = bytes.startIndex
        do throws(WebSocketError) {
            while i < bytes.endIndex && !closed {
                if let current = frame {
                    let take = min(current.length - current.received, bytes.endIndex - i)
                    unmaskAndStore(bytes[i..<(i + take)])
                    i += take
                    if let f = frame, f.received == f.length { try frameComplete(into: &events) }
                } else {
                    header.append(bytes[i])
                    i += 1
                    try headerByteAdded(into: &events)
                }
            }
        } catch {
            failure = error
            throw error
        }
        return events
    }

    // MARK: Headers

    /// Judges the header as far as it has arrived; when complete, starts the payload.
    private mutating func headerByteAdded(into events: inout [WebSocketEvent]) throws(WebSocketError) {
        let first = header[0]
        let fin = first & 0x80 != 0
        guard let opcode = WebSocket.Opcode(rawValue: first & 0x0F) else {
            throw .protocolError("unknown opcode \(first & 0x0F)")
        }
        if header.count == 1 {
            if first & 0x70 != 0 { throw .protocolError("reserved bits set (no extension was negotiated)") }
            if opcode.isControl && !fin { throw .protocolError("fragmented control frame") }
            switch opcode {
            case .continuation where !messageInProgress:
                throw .protocolError("continuation frame without a message to continue")
            case .text where messageInProgress, .binary where messageInProgress:
                throw .protocolError("new message started before the previous one was finished")
            case .binary:
                throw .unacceptable("binary messages are not accepted; send text (JSON)")
            default:
                return
            }
        }
        let second = header[1]
        if header.count == 2 {
            if second & 0x80 == 0 { throw .protocolError("client frames must be masked") }
            if opcode.isControl && second & 0x7F > 125 { throw .protocolError("control frame longer than 125 bytes") }
        }
        let lengthBytes = switch second & 0x7F { case 126: 2; case 127: 8; default: 0 }
        guard header.count >= 2 + lengthBytes else { return }
        var length = UInt64(second & 0x7F)
        if lengthBytes > 0 { length = header[2..<(2 + lengthBytes)].reduce(0) { $0 << 8 | UInt64($1) } }
        if header.count == 2 + lengthBytes {
            // Judged the moment the length is known, before the mask and any payload arrive.
            try checkLength(length, opcode: opcode)
        }
        guard header.count == 2 + lengthBytes + 4 else { return }
        let size = Int(length)
        if !opcode.isControl {
            messageInProgress = true
            message.reserveCapacity(message.count + size)
        }
        let m = header[(2 + lengthBytes)...]
        let start = m.startIndex
        frame = Frame(fin: fin, opcode: opcode, length: size, mask: (m[start], m[start + 1], m[start + 2], m[start + 3]))
        header.removeAll(keepingCapacity: true)
        if size == 0 { try frameComplete(into: &events) }
    }

    /// Refuses a length the limits do not allow, so nothing is ever stored for it.
    private func checkLength(_ length: UInt64, opcode: WebSocket.Opcode) throws(WebSocketError) {
        if length >> 63 != 0 { throw .protocolError("frame length has its most significant bit set") }
        if length > UInt64(limits.maxFrameBytes) {
            throw .tooBig("frame larger than \(limits.maxFrameBytes) bytes; split the message")
        }
        if !opcode.isControl && message.count + Int(length) > limits.maxMessageBytes {
            throw .tooBig("message larger than \(limits.maxMessageBytes) bytes")
        }
    }

    /// Appends payload bytes, unmasked, to the message or the control frame.
    private mutating func unmaskAndStore(_ bytes: ArraySlice<UInt8>) {
        guard var f = frame else { return }
        let start = f.received
        withUnsafeBytes(of: f.mask) { mask in
            if f.opcode.isControl {
                for (k, b) in bytes.enumerated() { control.append(b ^ mask[(start + k) & 3]) }
            } else {
                for (k, b) in bytes.enumerated() { message.append(b ^ mask[(start + k) & 3]) }
            }
        }
        f.received += bytes.count
        frame = f
    }

    // MARK: Frames

    private mutating func frameComplete(into events: inout [WebSocketEvent]) throws(WebSocketError) {
        guard let f = frame else { return }
        frame = nil
        switch f.opcode {
        case .text, .continuation, .binary:
            guard f.fin else { return }
            guard let text = String(validating: message, as: UTF8.self) else {
                throw .invalidData("text message is not valid UTF-8")
            }
            events.append(.text(text))
            message = []
            messageInProgress = false
        case .ping:
            events.append(.ping(control))
            control.removeAll(keepingCapacity: true)
        case .pong:
            events.append(.pong(control))
            control.removeAll(keepingCapacity: true)
        case .close:
            events.append(try Self.closeEvent(control))
            control = []
            closed = true
        }
    }

    /// A close frame's payload: empty, or a valid code then a UTF-8 reason (RFC 6455 §5.5.1).
    static func closeEvent(_ payload: [UInt8]) throws(WebSocketError) -> WebSocketEvent {
        if payload.isEmpty { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { throw .protocolError("close frame with a 1-byte payload") }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard isValidCloseCode(code) else { throw .protocolError("invalid close code \(code)") }
        guard let reason = String(validating: payload[2...], as: UTF8.self) else {
            throw .invalidData("close reason is not valid UTF-8")
        }
        return .close(code: code, reason: reason)
    }

    /// Codes a peer may send (RFC 6455 §7.4 and the IANA registry): the defined 1000–1003
    /// and 1007–1014, and 3000–4999 for libraries and applications. 1004 is reserved;
    /// 1005, 1006 and 1015 must never appear on the wire.
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}
