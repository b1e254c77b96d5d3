/// Makes text safe to write as lines to an agent or a customer: the one place that decides it.
///
/// Both gateway protocols are lines ended by `\n`, a plain-mode reply ends with an empty line, and agents
/// trust a line that starts with `*` to come from the server. A customer id or message (a JSON string may
/// hold `\r`, `\n`, U+2028, U+0085, NUL), an agent's name or reply, or a stored ticket could otherwise break
/// a line where the protocol does not: a fake `* NEW T999999 …` line in front of an agent, a reply ended
/// early, a terminal escape sequence, a line some readers split in two (Python's `splitlines` breaks at
/// U+2028, U+0085, VT, FF). Every writer of agent and customer lines, `kefu chat`, `kefu agent list/show`
/// and the diagnostics on stderr pass their lines here.
///
/// Line breaks (LF, CR, CRLF, VT, FF, NEL U+0085, LS U+2028, PS U+2029) and tabs become one space, so words
/// stay apart; every other C0 control, DEL and C1 control is removed. Nothing else changes, cleaning is a
/// fixed point, and text that needs nothing is returned as it is, after one pass over its bytes.
public enum LineSanitizer {
    /// One line's content, with nothing left that breaks or controls a line.
    public static func clean(_ line: String) -> String {
        guard needsCleaning(line) else { return line }
        var out = String.UnicodeScalarView(), afterCR = false
        for c in line.unicodeScalars {
            switch c.value {
            case 0x0A where afterCR: break  // CRLF is one break
            case 0x09...0x0D, 0x85, 0x2028, 0x2029: out.append(" ")
            case 0x00...0x1F, 0x7F...0x9F: break
            default: out.append(c)
            }
            afterCR = c == "\r"
        }
        return String(out)
    }

    /// The lines a writer means: `text` split at its own `\n`s, each line cleaned, blank lines dropped (an
    /// empty line would end a plain-mode reply early). Content that may hold a `\n` of its own (a summary,
    /// a customer's message) goes through `clean` before it is put into the text.
    public static func lines(_ text: String) -> [String] {
        split(text).map { clean(String($0)) }.filter { !$0.isEmpty }
    }

    /// The bytes to send for `text`: its `lines`, each ended with `\n`.
    public static func wire(_ text: String) -> [UInt8] {
        Array((lines(text).joined(separator: "\n") + "\n").utf8)
    }

    /// JSON text with the characters `JSONSerialization` leaves raw (DEL, C1 controls, U+2028, U+2029)
    /// written as `\u` escapes: the same JSON values, and nothing any reader takes for a line break.
    /// They can only occur inside strings, where an escape means the same character.
    public static func escapingJSON(_ json: String) -> String {
        guard needsCleaning(json) else { return json }
        var out = String.UnicodeScalarView()
        for c in json.unicodeScalars {
            switch c.value {
            case 0x7F...0x9F, 0x2028, 0x2029:
                let hex = String(c.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            default:
                out.append(c)
            }
        }
        return String(out)
    }

    /// A diagnostic for stderr: numbers masked and each line cleaned, the diagnostic's own line breaks kept.
    public static func diagnostic(_ text: String) -> String {
        split(text).map { clean(PrivacyMask.mask(String($0))) }.joined(separator: "\n")
    }

    /// `text` split at each `\n` (a `\r\n` too), by scalars: a `Character` holds `\r\n` as one.
    private static func split(_ text: String) -> [Substring] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            Substring(line.last == "\r" ? line.dropLast() : line)
        }
    }

    /// Whether any byte is a C0 control or DEL, or starts a C1 control (`C2 80-9F`) or U+2028/2029 (`E2 80 A8-A9`).
    static func needsCleaning(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var k = 0
            while k < bytes.count {
                let b = bytes[k]
                if b < 0x20 || b == 0x7F { return true }
                if b == 0xC2, k + 1 < bytes.count, (0x80...0x9F).contains(bytes[k + 1]) { return true }
                if b == 0xE2, k + 2 < bytes.count, bytes[k + 1] == 0x80, bytes[k + 2] == 0xA8 || bytes[k + 2] == 0xA9 {
                    return true
                }
                k += 1
            }
            return false
        }
    }
}
