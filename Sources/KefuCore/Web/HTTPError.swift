/// A request the parser refuses, with the status to answer and a message that tells the
/// client what to change. After one, the connection's framing can no longer be trusted: the
/// caller answers (`HTTPResponse.error(_:)`) and closes.
struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    var status: Int
    var message: String

    init(status: Int, message: String) {
        self.status = status
        self.message = message
    }

    var description: String { "\(status) \(message)" }

    static func badRequest(_ message: String) -> HTTPError { HTTPError(status: 400, message: message) }
    static func uriTooLong(limit: Int) -> HTTPError {
        HTTPError(status: 414, message: "URI too long (request line limit \(limit) bytes)")
    }
    static func headersTooLarge(_ detail: String) -> HTTPError { HTTPError(status: 431, message: "headers too large (\(detail))") }
    static func bodyTooLarge(limit: Int) -> HTTPError { HTTPError(status: 413, message: "body too large (limit \(limit) bytes)") }
    static func transferEncodingNotSupported(_ coding: String) -> HTTPError {
        HTTPError(status: 501, message: "transfer-encoding \(coding.prefix(64)) not supported (send Content-Length or chunked)")
    }
    static let versionNotSupported = HTTPError(status: 505, message: "HTTP version not supported (use HTTP/1.1)")
}
