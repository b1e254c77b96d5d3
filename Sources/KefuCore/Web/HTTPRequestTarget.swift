/// An origin-form request target (RFC 9112 §3.2.1, `/path?query`) taken apart and decoded
/// once, so routing only ever sees decoded text that has one meaning.
///
/// Strict on purpose: a path is split into segments *before* decoding and a segment may not
/// decode to something that would change that split (`%2F`) or walk the tree (`.`, `..`),
/// so `/v1/a%2Fb` cannot be read as two segments by one component and one by another. No
/// path reaches the file system today; the rules make sure none could be steered if one did.
struct HTTPRequestTarget: Sendable, Equatable {
    /// Percent-decoded path, e.g. `/v1/conversations/abc/messages` (empty segments kept).
    var path: String
    /// Decoded non-empty segments: `/v1//a/` gives `["v1", "a"]`.
    var pathSegments: [String]
    /// Decoded query parameters (`+` read as a space); a name given twice keeps its last value,
    /// a name without `=` has the value "".
    var query: [String: String]

    init(parsing target: String) throws(HTTPError) {
        let bytes = Array(target.utf8)
        guard bytes.first == UInt8(ascii: "/") else {
            throw .badRequest("request target must be a path starting with / (absolute-form and * are not served)")
        }
        for b in bytes where b <= 0x20 || b >= 0x7F || b == UInt8(ascii: "#") {
            throw .badRequest(b == UInt8(ascii: "#") ? "request target must not contain a fragment (#)"
                                                     : "request target contains a space, control or non-ASCII byte (percent-encode it)")
        }
        let questionMark = bytes.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = bytes[..<(questionMark ?? bytes.endIndex)]

        var decoded: [String] = []
        for raw in rawPath.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            let segment = try Self.decode(raw, plusAsSpace: false, what: "path")
            if segment == "." || segment == ".." { throw .badRequest("path segment '\(segment)' not allowed") }
            if segment.unicodeScalars.contains(where: { $0 == "/" || $0.value < 0x20 || $0.value == 0x7F }) {
                throw .badRequest("path segment contains an encoded slash or control character")
            }
            decoded.append(segment)
        }
        path = "/" + decoded.joined(separator: "/")
        pathSegments = decoded.filter { !$0.isEmpty }

        query = [:]
        guard let questionMark else { return }
        for pair in bytes[(questionMark + 1)...].split(separator: UInt8(ascii: "&")) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let name = try Self.decode(pair[..<(equals ?? pair.endIndex)], plusAsSpace: true, what: "query")
            var value = ""
            if let equals { value = try Self.decode(pair[(equals + 1)...], plusAsSpace: true, what: "query") }
            if !name.isEmpty { query[name] = value }
        }
    }

    /// Percent-decodes `raw` and checks the result is UTF-8 without NUL.
    static func decode(_ raw: ArraySlice<UInt8>, plusAsSpace: Bool, what: String) throws(HTTPError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < raw.endIndex,
                      let high = hexValue(raw[i + 1]), let low = hexValue(raw[i + 2]) else {
                    throw .badRequest("bad percent-escape in \(what) (use % followed by two hex digits)")
                }
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(plusAsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
                i += 1
            }
        }
        if out.contains(0) { throw .badRequest("%00 not allowed in \(what)") }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw .badRequest("\(what) is not valid UTF-8 once percent-decoded")
        }
        return text
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
