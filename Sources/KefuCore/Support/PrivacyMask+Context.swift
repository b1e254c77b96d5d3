/// Where a number stands: what joins digit groups into one number, what makes digits an order number or
/// a code that must stay whole, and what marks digits as part of a mask already.
///
/// Every check looks at a few scalars next to a run, never further, so the pass stays linear.
extension PrivacyMask {
    /// What stands between two digit groups of one number.
    enum Gap: Equatable {
        case spaces, hyphen, mark

        /// The separator kept after a prefix or an area code.
        var kept: String { self == .spaces ? " " : "-" }
    }

    /// The gap between a run ending at `end` and the next starting at `next`, if it joins them: one to three
    /// separators with at most one that is not a space (`138 - 1234`, `138  1234`, `138．1234`, `138，1234`).
    static func gap(from end: Int, to next: Int, in s: [Unicode.Scalar]) -> Gap? {
        guard (1...3).contains(next - end) else { return nil }
        var found = Gap.spaces, marks = 0
        for c in s[end..<next] {
            switch separator(c) {
            case nil: return nil
            case .spaces?: continue
            case let mark?: found = mark; marks += 1
            }
        }
        return marks <= 1 ? found : nil
    }

    /// A scalar that may stand between the groups of a number.
    ///
    /// Spaces of every width count, and so do line breaks and other controls (a `\r` or U+2028 between the
    /// groups hides nothing once a screen shows it as a break). Marks: hyphens and dashes, `.`, `/`, `，`,
    /// `、`, `·`, ASCII or full-width. The ASCII comma is not one: it groups the thousands of an amount.
    static func separator(_ c: Unicode.Scalar) -> Gap? {
        switch c.value {
        case 0x00...0x1F, 0x20, 0x7F...0xA0, 0x2028, 0x2029, 0x3000, 0x200B...0x200D, 0x2060, 0xFEFF: .spaces
        case 0x2D, 0xFF0D, 0x2010...0x2015, 0x2212, 0xFE63: .hyphen
        case 0x2E, 0xFF0E, 0x2F, 0xFF0F, 0xFF0C, 0x3001, 0xB7: .mark
        default: nil
        }
    }

    /// Digits next to four or more stars, directly or across a separator, are part of a mask
    /// (`138****5678`, the `6222` of `6222 **** **** 0123`, the `010` of `010-****5678`).
    static func isInert(_ run: Run, in s: [Unicode.Scalar]) -> Bool {
        func stars(from k: Int, step: Int) -> Bool {
            var k = k, skipped = 0
            while k >= 0, k < s.count, skipped < 3, separator(s[k]) != nil { k += step; skipped += 1 }
            for _ in 0..<4 {
                guard k >= 0, k < s.count, s[k] == "*" || s[k] == "\u{FF0A}" else { return false }
                k += step
            }
            return true
        }
        return stars(from: run.end, step: 1) || stars(from: run.start - 1, step: -1)
    }

    /// The whole or fractional part of a decimal (`13812345678.00`, `1.13812345678`): an amount, not a number to mask.
    static func isDecimalPart(start: Int, end: Int, in s: [Unicode.Scalar]) -> Bool {
        func isPoint(_ c: Unicode.Scalar) -> Bool { c == "." || c == "\u{FF0E}" }
        return (start > 1 && isPoint(s[start - 1]) && digit(s[start - 2]) != nil)
            || (end + 1 < s.count && isPoint(s[end]) && digit(s[end + 1]) != nil)
    }

    // MARK: Order numbers and codes

    /// Whether the run starting at `start` is an order number or a code, to be left whole: glued to Latin
    /// letters that are not a personal label (`DD2026…`), or after an order label (`订单号：2026…`, `order #2026…`).
    static func isProtected(before start: Int, in s: [Unicode.Scalar]) -> Bool {
        guard start > 0 else { return false }
        if isLetter(s[start - 1]) { return !personalLabels.contains(word(endingAt: start - 1, in: s)) }
        var k = start - 1, skipped = 0
        while k >= 0, skipped < 4, isLabelGap(s[k]) { k -= 1; skipped += 1 }
        guard k >= 0 else { return false }
        if isLetter(s[k]) {
            let w = word(endingAt: k, in: s)
            if orderWords.contains(w) { return true }
            guard orderQualifiers.contains(w) else { return false }
            // `order no. 2026…`, `tracking number: …`
            var j = k - w.utf8.count, gaps = 0  // ASCII: one byte a letter
            while j >= 0, gaps < 2, isLabelGap(s[j]) { j -= 1; gaps += 1 }
            return j >= 0 && isLetter(s[j]) && orderWords.contains(word(endingAt: j, in: s))
        }
        return orderLabelScalars.contains { l in k + 1 >= l.count && s[(k + 1 - l.count)...k].elementsEqual(l) }
    }

    /// Latin words glued to digits that name a personal number, read like 手机 or 卡号: the digits are judged
    /// as usual (`tel13812345678`, `ID11010519491231002X`, `card6228480012345671`). Lowercase, whole words.
    static let personalLabels: Set<String> = [
        "tel", "telephone", "phone", "phoneno", "phonenumber", "mobile", "mobileno", "mob", "cell", "cellphone", "call",
        "contact", "number", "sms", "whatsapp", "wechat", "weixin", "wx", "vx", "qq",
        "id", "idno", "idcard", "idnumber", "card", "cardno", "cardnumber", "bankcard", "creditcard", "debitcard",
        "acct", "acc", "account", "accountno", "user", "uid", "customer", "member",
    ]

    /// Words before an order number, with a space, colon or `#` between (`order 2026…`, `DD 2026…`).
    static let orderWords: Set<String> = [
        "order", "orders", "orderno", "orderid", "ordernumber", "ordernum", "ord", "dd", "tracking", "trackingno",
        "waybill", "invoice", "invoiceno", "ref", "refno", "reference",
    ]

    /// Words that make an order word a label only together (`order no.`, `tracking number`).
    static let orderQualifiers: Set<String> = ["no", "number", "num", "nr", "id", "code"]

    /// Chinese labels of order, waybill and transaction numbers (`单号` covers 订单号, 运单号, 快递单号 …).
    /// Not 编号 or 号码 alone: 身份证编号 and 手机号码 name personal numbers.
    static let orderLabels = [
        "订单号码", "订单编号", "订单号", "订单", "单号", "流水号", "交易号", "运单", "快递单", "物流号", "追踪号", "发票号",
        "合同号", "工单", "服务单", "退款单",
    ]

    private static let orderLabelScalars = orderLabels.map { Array($0.unicodeScalars) }

    /// What may stand between an order label and its number: spaces, a colon, `#`, `.`, 是 or 为.
    static func isLabelGap(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x20, 0x3000, 0x09, 0x3A, 0xFF1A, 0x23, 0xFF03, 0x2E, 0xFF0E, 0x662F, 0x4E3A: true
        default: false
        }
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x41...0x5A, 0x61...0x7A, 0xFF21...0xFF3A, 0xFF41...0xFF5A: true
        default: false
        }
    }

    /// The Latin word ending at `k`, lowercased, full-width letters as ASCII; at most 16 letters are read.
    static func word(endingAt k: Int, in s: [Unicode.Scalar]) -> String {
        var start = k
        while start > 0, k - start < 15, isLetter(s[start - 1]) { start -= 1 }
        if start > 0, isLetter(s[start - 1]) { return "" }  // longer than any label
        // The tail of a token such as a random hex id (`…71dd:`) is no label: a customer key
        // `conn:<hex>:１３８…` whose hex ended in `dd` was read as an order number and left unmasked.
        if start > 0, digit(s[start - 1]) != nil { return "" }
        var w = String.UnicodeScalarView()
        for c in s[start...k] {
            var v = c.value
            if v >= 0xFF21 { v -= 0xFF21 - 0x41 }
            if v <= 0x5A { v += 0x20 }
            w.append(Unicode.Scalar(v)!)
        }
        return String(w)
    }
}
