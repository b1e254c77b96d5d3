/// How much a WebSocket client may send at once. Both limits are checked against the
/// length a frame header announces, before any of its payload is stored, so a header
/// claiming 2^63 bytes costs nothing.
struct WebSocketLimits: Sendable {
    /// One frame's payload; more → close 1009.
    var maxFrameBytes = 64 * 1024
    /// A whole text message, all its fragments together; more → close 1009.
    var maxMessageBytes = 64 * 1024

    init() {}
}
