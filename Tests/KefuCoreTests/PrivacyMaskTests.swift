import Testing
@testable import KefuCore

@Suite("Privacy masking")
struct PrivacyMaskTests {
    func mask(_ text: String) -> String { PrivacyMask.mask(text) }

    @Test("a mobile number keeps its first 3 and last 4 digits")
    func mobile() {
        #expect(mask("我的手机是13812345678，请回电") == "我的手机是138****5678，请回电")
        #expect(mask("19912345678") == "199****5678")
    }

    @Test("a mobile number after +86, 86 or 0086 keeps the prefix as typed")
    func mobileWithCountryCode() {
        #expect(mask("电话 +86 13812345678") == "电话 +86 138****5678")
        #expect(mask("+8613812345678") == "+86138****5678")
        #expect(mask("0086-138-1234-5678") == "0086-138****5678")
    }

    @Test("a mobile number typed with spaces or hyphens is masked whole, separators dropped")
    func mobileWithSeparators() {
        #expect(mask("138-1234-5678") == "138****5678")
        #expect(mask("手机 138 1234 5678 谢谢") == "手机 138****5678 谢谢")
        #expect(mask("138 12345678") == "138****5678")
    }

    @Test("a number after the tail of a random id is masked: letters glued to digits are no order label")
    func numberAfterAnIdTail() {
        // A customer key's random scope may end in `dd`, `ref` or `ord`, which alone label an order number.
        for scope in ["5a1abeb76a67618908a19c76a1f9d8dd", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4cref", "9ord"] {
            #expect(PrivacyMask.mask("conn:\(scope):１３８．１２３４．５６７８") == "conn:\(scope):138****5678")
        }
        #expect(PrivacyMask.mask("DD 20261130123456") == "DD 20261130123456", "an order number after its label stays whole")
    }

    @Test("full-width digits are digits, and the mask is written in ASCII")
    func fullWidthDigits() {
        #expect(mask("手机１３８１２３４５６７８") == "手机138****5678")
        #expect(mask("卡号６２２２　０２１２　３４５６　７８９４") == "卡号6222 **** **** 7894")
    }

    @Test("a landline keeps its area code and the last 4 digits of the local number")
    func landline() {
        #expect(mask("座机010-12345678") == "座机010-****5678")
        #expect(mask("0755 8765 4321") == "0755 ****4321")
        #expect(mask("021-1234567") == "021-****4567")
    }

    @Test("an 18-character ID card ending in X is masked to first 4 and last 4")
    func idCardWithX() {
        #expect(mask("身份证11010519491231002X") == "身份证1101**********002X")
        #expect(mask("身份证11010519491231002x。") == "身份证1101**********002X。")
        #expect(mask("110105 19491231 0021") == "1101**********0021")
    }

    @Test("a 15-digit old ID card with a plausible yymmdd is masked")
    func oldIDCard() {
        #expect(mask("旧身份证110105491231002") == "旧身份证1101**********1002")
        #expect(PrivacyMask.findings(in: "110105491231002").map(\.kind) == [.idCard])
    }

    @Test("Luhn-valid 16- and 19-digit cards are masked, with or without spaces")
    func luhnValidCards() {
        #expect(mask("4111111111111111") == "4111 **** **** 1111")
        #expect(mask("6222 0212 3456 7894") == "6222 **** **** 7894")
        #expect(mask("6222-0212-3456-7894") == "6222 **** **** 7894")
        #expect(mask("6222021234567890128") == "6222 **** **** 0128")
        #expect(mask("6222 0212 3456 7890 128") == "6222 **** **** 0128")
    }

    @Test("a 16-digit number failing Luhn is still masked as a card, since customers make typos")
    func luhnFailingCard() {
        #expect(mask("卡号6222021234567890") == "卡号6222 **** **** 7890")
        #expect(PrivacyMask.findings(in: "6222021234567890").map(\.kind) == [.bankCard])
    }

    @Test("digits in irregular groups form one card only when the Luhn check vouches for them")
    func irregularGroupingNeedsLuhn() {
        #expect(mask("62220 21234 5678 90128") == "6222 **** **** 0128")
        #expect(mask("62220 21234 5678 90123") == "62220 21234 5678 90123")
    }

    @Test("a run of 20 or more digits is masked whole as an account number, never partly as a card")
    func longAccountNumber() {
        #expect(mask("账号62220212345678901234") == "账号****1234")
        #expect(mask("账号 6222 0212 3456 7890 1234") == "账号 ****1234")
    }

    @Test("two cards written in fours one after the other are two cards, not one account")
    func twoCardsInARow() {
        #expect(mask("6222 0212 3456 7894 6222 0212 3456 7894") == "6222 **** **** 7894 6222 **** **** 7894")
    }

    @Test("amounts, dates, times, short codes, order numbers and complaint lines are left alone")
    func harmlessNumbersUnchanged() {
        let unchanged = [
            "我要打12315投诉", "金额¥1,234.56", "2026-11-23 14:30 下单", "订单DD20261123001",
            "验证码123456", "编号1234567890", "订单DD13812345678", "退款13812345678.00元", "共3件，合计99元",
            "２０２６－１１－２３",
        ]
        for text in unchanged {
            #expect(mask(text) == text, "\(text)")
            #expect(PrivacyMask.findings(in: text).isEmpty, "\(text)")
        }
    }

    /// Was "left alone" before glued letters stopped protecting a number (`tel13812345678`, `13812345678ok`).
    @Test("an X glued to anything but an ID card is a letter: the number is masked and the x stays")
    func xAfterNonIDCard() {
        #expect(mask("13812345678x") == "138****5678x")
        #expect(PrivacyMask.findings(in: "13812345678x").map(\.kind) == [.phone])
    }

    @Test("the example from the spec: Chinese text around two numbers stays intact")
    func twoNumbersInOneMessage() {
        #expect(mask("我的手机是13812345678，卡号6222021234567890123")
            == "我的手机是138****5678，卡号6222 **** **** 0123")
        #expect(mask("2026-11-23 13812345678 010-12345678") == "2026-11-23 138****5678 010-****5678")
    }

    @Test("masking is idempotent: masked text masks to itself")
    func idempotent() {
        let samples = [
            "我的手机是+86 13812345678，卡号6222021234567890123", "身份证11010519491231002X",
            "010-12345678 0755 8765 4321", "账号62220212345678901234", "110105491231002", "6222 0212 3456 7894",
        ]
        for text in samples {
            let once = mask(text)
            #expect(once != text)
            #expect(mask(once) == once, "\(once)")
        }
    }

    @Test("findings() reports each number's kind and masked form, in order")
    func findingsReportKinds() {
        let found = PrivacyMask.findings(in: "手机13812345678，身份证11010519491231002X，卡6222021234567894，座机010-12345678")
        #expect(found.map(\.kind) == [.phone, .idCard, .bankCard, .phone])
        #expect(found.map(\.masked) == ["138****5678", "1101**********002X", "6222 **** **** 7894", "010-****5678"])
        #expect(PrivacyMask.Kind.idCard.rawValue == "id_card")
        #expect(PrivacyMask.Kind.bankCard.rawValue == "bank_card")
    }
}
