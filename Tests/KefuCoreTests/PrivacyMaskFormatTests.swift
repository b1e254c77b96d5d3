import Testing
@testable import KefuCore

/// The ways customers write sensitive numbers, generated: a few valid numbers × groupings × separators ×
/// glue words before and after × ASCII or full-width digits; and the numbers that only look alike.
@Suite("Privacy masking of every way a number is written")
struct PrivacyMaskFormatTests {
    /// A number, how it may be grouped, and its mask given the separator between its groups.
    struct Sensitive: Sendable {
        let digits: String
        let groupings: [[Int]]
        let masked: @Sendable (_ separator: String) -> String

        init(_ digits: String, _ groupings: [[Int]], _ masked: String) {
            self.init(digits, groupings) { _ in masked }
        }

        init(_ digits: String, _ groupings: [[Int]], masked: @escaping @Sendable (_ separator: String) -> String) {
            self.digits = digits
            self.groupings = groupings
            self.masked = masked
        }
    }

    struct Case: CustomStringConvertible, Sendable {
        let text: String, expected: String
        var description: String { "\(text) → \(expected)" }
    }

    static let numbers = [
        Sensitive("13812345678", [[11], [3, 4, 4], [3, 8]], "138****5678"),
        Sensitive("19987654321", [[11], [3, 4, 4]], "199****4321"),
        Sensitive("11010519491231002X", [[18], [6, 8, 4]], "1101**********002X"),
        Sensitive("440308199901011234", [[18], [6, 8, 4]], "4403**********1234"),
        Sensitive("110105491231002", [[15], [6, 6, 3]], "1101**********1002"),
        Sensitive("6228480012345671", [[16], [4, 4, 4, 4]], "6228 **** **** 5671"),
        Sensitive("6222021234567890123", [[19], [4, 4, 4, 4, 3]], "6222 **** **** 0123"),
        // A landline keeps its area code and the separator after it: a space if it was spaces, else `-`.
        Sensitive("01012345678", [[3, 8], [3, 4, 4]]) { "010" + (isSpaces($0) ? " " : "-") + "****5678" },
        Sensitive("075587654321", [[4, 8], [4, 4, 4]]) { "0755" + (isSpaces($0) ? " " : "-") + "****4321" },
    ]

    /// ASCII and full-width; hyphen, dot, slash, comma, enumeration comma; one or several spaces.
    static let separators = [" ", "  ", "   ", "-", " - ", ".", "/", "，", "、", "．", "／", "－", "　", "\u{3000}\u{3000}"]
    /// Words the number is glued to or follows: Chinese and Latin labels, with and without a colon.
    static let prefixes = ["", "手机", "卡号", "tel", "ID", "card", "身份证号：", "Tel:", "我的号码是 ", "PHONE", "Ｔｅｌ", "账号"]
    static let suffixes = ["", "，谢谢", "。", "是我的", "ok", " 请核实", "吗？"]

    static func isSpaces(_ separator: String) -> Bool { separator.allSatisfy { $0 == " " || $0 == "\u{3000}" } }

    static func fullWidth(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { c in
            switch c.value {
            case 0x30...0x39, 0x58: Unicode.Scalar(c.value + 0xFEE0)!
            default: c
            }
        }))
    }

    static func grouped(_ digits: String, _ groups: [Int], by separator: String) -> String {
        var rest = Substring(digits), parts: [Substring] = []
        for n in groups {
            parts.append(rest.prefix(n))
            rest = rest.dropFirst(n)
        }
        return parts.joined(separator: separator)
    }

    /// Every spelling of every number, each bare and once glued (the glue words taken in turn).
    static let formats: [Case] = {
        var cases: [Case] = [], k = 0
        for number in numbers {
            for groups in number.groupings {
                for separator in groups.count == 1 ? [""] : separators {
                    for wide in [false, true] {
                        var spelled = grouped(number.digits, groups, by: separator)
                        if wide { spelled = fullWidth(spelled) }
                        let masked = number.masked(separator)
                        cases.append(Case(text: spelled, expected: masked))
                        let prefix = prefixes[k % prefixes.count], suffix = suffixes[k % suffixes.count]
                        cases.append(Case(text: prefix + spelled + suffix, expected: prefix + masked + suffix))
                        k += 1
                    }
                }
            }
        }
        return cases
    }()

    @Test("at least 200 generated spellings of phone, ID-card and bank-card numbers are each masked whole")
    func generatedFormatsAreMasked() {
        #expect(Self.formats.count >= 200)
        for c in Self.formats {
            #expect(PrivacyMask.mask(c.text) == c.expected, "\(c)")
        }
    }

    @Test("masking any generated spelling twice changes nothing the second time")
    func generatedFormatsAreFixedPoints() {
        for c in Self.formats + Self.lookAlikes.map({ Case(text: $0, expected: $0) }) {
            let once = PrivacyMask.mask(c.text)
            #expect(PrivacyMask.mask(once) == once, "\(c)")
        }
    }

    @Test("every label a customer glues a number to is masked, Latin or Chinese, any case")
    func gluedLabels() {
        let table: [(String, String)] = [
            ("tel13812345678", "tel138****5678"), ("TEL13812345678", "TEL138****5678"),
            ("mobile13812345678", "mobile138****5678"), ("phone：13812345678", "phone：138****5678"),
            ("wx13812345678", "wx138****5678"), ("手机13812345678", "手机138****5678"),
            ("ID11010519491231002X", "ID1101**********002X"), ("idcard11010519491231002x", "idcard1101**********002X"),
            ("身份证11010519491231002X", "身份证1101**********002X"),
            ("card6228480012345671", "card6228 **** **** 5671"), ("卡号6228480012345671", "卡号6228 **** **** 5671"),
            ("acct62220212345678901234", "acct****1234"), ("user13900001111", "user139****1111"),
            ("13812345678abc", "138****5678abc"), ("13812345678x", "138****5678x"),
        ]
        for (text, expected) in table { #expect(PrivacyMask.mask(text) == expected, "\(text)") }
    }

    /// Numbers that must stay as written: order numbers, amounts, dates, times, versions, hotlines, short codes.
    static let lookAlikes: [String] = {
        var texts = [
            // Order, waybill and tracking numbers: a code (letters glued before) or after an order label.
            "DD20261123001", "订单DD13812345678", "DD2026112300012345678", "SF1234567890123", "JD6228480012345671",
            "订单号 202611230001234", "订单号：2026112300012345678", "订单号2026112300012345", "我的订单是 2026112300012345",
            "运单号 773012345678901", "快递单号：6228480012345671", "order #2026112300012345", "Order No. 2026112300012345",
            "tracking number: 2026112300012345", "DD 2026112300012345", "订单编号 110105194912310021",
            "订单号 2026-1123-0001-2345", "DD2026-1123-0001-2345",
            // Amounts.
            "¥12,345.67", "1234.56元", "￥1,234,567.89", "退款13812345678.00元", "$1,000,000.00", "金额：99.9", "1.5万",
            "共3件，合计99元", "１２，３４５．６７元",
            // Times, versions, addresses, hotlines, short codes.
            "10:30:15", "23:59", "2026-11-30 10:30:15", "v1.2.3", "V2.10.1", "版本 10.0.19045", "1.0.0-beta.1",
            "iOS 17.1.2", "192.168.100.200", "12315", "我要打12315投诉", "95588", "400-820-8820", "10086",
            "验证码123456", "取件码 8-3-1024", "编号1234567890", "T000001", "1920x1080", "978-7-111-54742-6",
        ]
        // Dates with every separator a date is written with, alone and before a time.
        for separator in ["-", "/", ".", "．", "／", "－", "、"] {
            texts.append("2026\(separator)11\(separator)30")
            texts.append("2026\(separator)11\(separator)30 10:30:15")
            texts.append(fullWidth("2026\(separator)11\(separator)30"))
        }
        return texts
    }()

    @Test("order numbers, amounts, dates, times, versions, hotlines and short codes are left as written")
    func lookAlikesUnchanged() {
        for text in Self.lookAlikes {
            #expect(PrivacyMask.mask(text) == text, "\(text)")
            #expect(PrivacyMask.findings(in: text).isEmpty, "\(text)")
        }
    }

    @Test("an order number is judged on its own: a phone after it, past a comma or a space, is still masked")
    func phoneAfterOrderNumber() {
        #expect(PrivacyMask.mask("订单号2026112300012345，13812345678") == "订单号2026112300012345，138****5678")
        #expect(PrivacyMask.mask("DD20261123001 13812345678") == "DD20261123001 138****5678")
        #expect(PrivacyMask.mask("订单号 2026/11/30 手机 138.1234.5678") == "订单号 2026/11/30 手机 138****5678")
    }

    @Test("a control character or line break between the groups does not hide a number")
    func controlsBetweenGroups() {
        for separator in ["\r", "\n", "\u{2028}", "\u{85}", "\u{0}", "\t"] {
            #expect(PrivacyMask.mask("手机138\(separator)1234\(separator)5678") == "手机138****5678", "\(separator.unicodeScalars.first!.value)")
        }
    }

    @Test("an ID card grouped oddly is masked when its check digit vouches for it")
    func idCardOddGrouping() {
        #expect(PrivacyMask.mask("1101 0519 4912 3100 2X") == "1101**********002X")
        #expect(PrivacyMask.mask("110 105 194 912 310 02X") == "1101**********002X")
    }
}
