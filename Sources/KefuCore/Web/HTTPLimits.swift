/// How much of a request the parser holds before refusing it. Every limit is checked as the
/// bytes arrive, never after, so a client cannot make the server buffer more than these
/// sizes by leaving a line or a body unfinished.
struct HTTPLimits: Sendable {
    /// The request line, e.g. `GET /v1/... HTTP/1.1`; longer → 414.
    var maxRequestLineBytes = 8192
    /// All header lines together, line endings included; more → 431. Trailers of a chunked
    /// body have a budget of the same size of their own.
    var maxHeaderBytes = 16_384
    /// Header lines; more → 431 (trailers likewise).
    var maxHeaderCount = 64
    /// The body, however it is framed; larger → 413, announced sizes refused before any of
    /// the body is read.
    var maxBodyBytes = 64 * 1024
    /// One chunk-size line of a chunked body, extensions included; longer → 400. Real clients
    /// send a few hex digits; the limit stops extensions from becoming an unbounded buffer.
    var maxChunkLineBytes = 1024

    init() {}
}
