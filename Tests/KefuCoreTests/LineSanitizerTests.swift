import Foundation
import Testing
@testable import KefuCore

@Suite("Lines to agents and customers")
struct LineSanitizerTests {
    @Test("every line break becomes one space and every other control character is removed")
    func cleanTable() {
        let table: [(String, String)] = [
            ("好的\n* NEW T999999 0 requested 假", "好的 * NEW T999999 0 requested 假"),
            ("a\rb", "a b"), ("a\r\nb", "a b"), ("a\u{2028}b", "a b"), ("a\u{2029}b", "a b"), ("a\u{85}b", "a b"),
            ("a\u{0B}b\u{0C}c", "a b c"), ("a\tb", "a b"),
            ("a\u{0}b", "ab"), ("\u{1B}[2Jclear", "[2Jclear"), ("a\u{7F}b", "ab"), ("a\u{9B}31mb", "a31mb"), ("a\u{80}b", "ab"),
            ("纯文本，没有控制字符 ¥12.50", "纯文本，没有控制字符 ¥12.50"), ("", ""),
        ]
        for (text, expected) in table {
            #expect(LineSanitizer.clean(text) == expected, "\(text.debugDescription)")
            #expect(LineSanitizer.clean(expected) == expected, "cleaning is a fixed point: \(expected.debugDescription)")
        }
    }

    @Test("a writer's own line breaks stay; blank lines, which would end a plain reply early, are dropped")
    func writerLines() {
        #expect(LineSanitizer.lines("OK 1\n{\"a\":1}\n.") == ["OK 1", "{\"a\":1}", "."])
        #expect(LineSanitizer.lines("第一段\n\n第二段\u{2028}续") == ["第一段", "第二段 续"])
        #expect(LineSanitizer.lines("\u{0}\n") == [])
        #expect(LineSanitizer.lines("一\r\n二\r\n") == ["一", "二"])
        #expect(LineSanitizer.wire("OK\r bye") == Array("OK  bye\n".utf8))
    }

    @Test("JSON keeps its values but never carries U+2028, U+2029, U+0085, DEL or C1 raw")
    func jsonEscapes() throws {
        let value = "a\u{2028}b\u{2029}c\u{85}d\u{7F}e\u{9F}f\r\n\u{0}g"
        let data = try JSONSerialization.data(withJSONObject: ["k": value], options: [.sortedKeys])
        let json = LineSanitizer.escapingJSON(String(decoding: data, as: UTF8.self))
        #expect(!json.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029 })
        #expect(json.contains("\\u2028") && json.contains("\\u0085"))
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
        #expect(decoded["k"] == value, "the same value after decoding")
        #expect(LineSanitizer.escapingJSON(json) == json)
    }

    @Test("a diagnostic for stderr has its numbers masked and each of its lines cleaned")
    func diagnostics() {
        #expect(LineSanitizer.diagnostic("kefu serve: agent sent TEL13812345678\u{2028}x\nsecond line")
            == "kefu serve: agent sent TEL138****5678 x\nsecond line")
    }
}
