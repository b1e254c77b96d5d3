/// What a client's frames amount to, as `WebSocketParser` hands them over: whole messages
/// (fragments already joined) and control frames, in the order they arrived.
enum WebSocketEvent: Equatable, Sendable {
    /// A complete text message, valid UTF-8.
    case text(String)
    /// Answer with a pong carrying the same payload (RFC 6455 §5.5.2).
    case ping([UInt8])
    /// An answer to a ping the server sent, or an unsolicited heartbeat; needs no reply.
    case pong([UInt8])
    /// The client closes: answer with a close frame (echoing the code, or 1000) and close the
    /// connection. `code` is nil when the frame carried no payload. The parser ignores
    /// everything after it.
    case close(code: UInt16?, reason: String)
}
