/// Why the server fails a WebSocket connection (RFC 6455 §7.1.7): the close code to send and
/// a reason that says what the client did wrong. The caller sends
/// `WebSocket.closeFrame(for:)` and closes; the stream cannot be read past the error.
struct WebSocketError: Error, Equatable, Sendable, CustomStringConvertible {
    var closeCode: UInt16
    var reason: String

    init(closeCode: UInt16, reason: String) {
        self.closeCode = closeCode
        self.reason = reason
    }

    var description: String { "\(closeCode) \(reason)" }

    /// 1002: the frames break the protocol (unmasked, reserved bits, bad sequence, …).
    static func protocolError(_ reason: String) -> WebSocketError { WebSocketError(closeCode: 1002, reason: reason) }
    /// 1003: a kind of data the server does not take (binary).
    static func unacceptable(_ reason: String) -> WebSocketError { WebSocketError(closeCode: 1003, reason: reason) }
    /// 1007: a text message or close reason that is not UTF-8.
    static func invalidData(_ reason: String) -> WebSocketError { WebSocketError(closeCode: 1007, reason: reason) }
    /// 1009: a frame or message over the limit.
    static func tooBig(_ reason: String) -> WebSocketError { WebSocketError(closeCode: 1009, reason: reason) }
}
