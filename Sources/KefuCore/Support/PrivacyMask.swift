/// Masks phone, ID-card and bank-card numbers so they never reach logs, summaries, listings, reports or stderr.
///
/// Customers type these numbers straight into chat, in ASCII or full-width digits, grouped any way a keyboard
/// allows (`6222 0212 3456 7890`, `138-1234-5678`, `138.1234.5678`, `138/1234/5678`, `138，1234，5678`,
/// `138、1234、5678`, full-width `．／，、` and spaces, several spaces), and glued to the word that names them
/// (`手机13812345678`, `卡号6228480012345671`, `tel13812345678`, `ID11010519491231002X`). Customer ids are
/// often phone numbers too. Anything that is stored or shown must pass here; this is the only masking function.
///
/// Masked forms (ASCII digits, fixed-width stars so the mask does not reveal the length; separators inside
/// the number are dropped except the one after a country prefix or a landline area code, kept as a space if
/// it was spaces and as `-` otherwise):
/// - mobile `138****5678`; with a prefix `+86 138****5678` (the `+86`/`0086`/`86` is kept)
/// - landline `010-****5678` (area code and its separator kept, last 4 of the local number kept)
/// - ID card, 18 or 15 digits: `1101**********123X` (first 4, ten stars, last 4)
/// - bank card, 16-19 digits: `6222 **** **** 0123`; a run of 20+ digits (an account number): `****0123`
///
/// Left whole, because the agent needs them or they are not personal:
/// - fewer than 10 digits: amounts (`¥12,345.67`, `1234.56元`), dates (`2026-11-30`, `2026/11/30`,
///   `2026.11.30`), times, version numbers, `12315`, verification codes; and decimals (`13812345678.00`);
/// - **order numbers.** Digits glued after Latin letters that are not a personal label (`DD20261123001`,
///   `SF1234567890123`) are a code: an order, tracking or model number. Digits after an order label
///   (`订单号 202611230001234`, `单号：…`, `order #…`) are the order number, whatever their length. Either way
///   the number stays whole, with any groups hyphenated to it, so the agent can look the order up; a number
///   after a comma or a space is a new number and is judged on its own (`订单号2026…，13812345678`). The
///   labels are in `PrivacyMask+Context.swift`. The price: a customer who labels a card number as an order
///   number, or glues it to a code, has it shown; both are what they asked the agent to look at.
///
/// Letters after the digits do not make a code (`13812345678ok` is masked); only an ID card takes the X.
///
/// Every masked form is a fixed point: masking masked text changes nothing. Digits next to four or more
/// stars (directly or across one separator) are part of a mask and left alone, so a masked number never
/// joins its neighbours into a new one.
/// One linear pass over Unicode scalars and no regular expressions: this runs on every logged message.
public enum PrivacyMask {
    public enum Kind: String, Sendable { case phone, idCard = "id_card", bankCard = "bank_card" }

    /// `text` with every sensitive number masked; other text (order numbers, amounts, dates, 12315) unchanged.
    public static func mask(_ text: String) -> String { scan(text).text }

    /// What was found, for tests and explanations: kind and the masked form.
    public static func findings(in text: String) -> [(kind: Kind, masked: String)] { scan(text).found }

    /// A maximal run of digits: scalars `start..<end`, its values at `digits[first...]` of the scan's one
    /// buffer (consecutive runs are consecutive there); `x` if an X/x is glued to its end.
    struct Run {
        var start: Int, end: Int, first: Int, x: Bool
        var count: Int { end - start }
    }

    /// At most this many runs are read as one number (a card in fours with a 3-digit tail is five).
    static let maxGroups = 6
    /// The fewest digits of anything masked (a landline: 3-digit area code and 7 digits).
    static let minDigits = 10

    private static func scan(_ text: String) -> (text: String, found: [(kind: Kind, masked: String)]) {
        guard mayHaveDigits(text) else { return (text, []) }
        let s = Array(text.unicodeScalars)
        var digits: [UInt8] = []
        let runs = digitRuns(s, into: &digits)
        var out = String.UnicodeScalarView(), found: [(kind: Kind, masked: String)] = [], copied = 0, i = 0
        while i < runs.count {
            if isInert(runs[i], in: s) { i += 1; continue }
            // Runs joined by a separator may be one number; try the longest chain first.
            var last = i, total = runs[i].count
            while last + 1 < runs.count, last - i < maxGroups - 1,
                  gap(from: runs[last].end, to: runs[last + 1].start, in: s) != nil,
                  !isInert(runs[last + 1], in: s) {
                last += 1
                total += runs[last].count
            }
            guard total >= minDigits else { i += 1; continue }
            if isProtected(before: runs[i].start, in: s) {
                // An order or code number: it and the groups hyphenated to it stay whole.
                i += 1
                while i < runs.count, gap(from: runs[i - 1].end, to: runs[i].start, in: s) == .hyphen { i += 1 }
                continue
            }
            let kept = last > i ? gap(from: runs[i].end, to: runs[i + 1].start, in: s)!.kept : ""
            var groups = runs[i...last].map { $0.count }
            var matched = false
            for j in stride(from: last, through: i, by: -1) {
                defer { total -= groups.removeLast() }
                guard total >= minDigits else { break }
                let d = Array(digits[runs[i].first..<(runs[i].first + total)])
                guard let m = classify(d, groups, runs[j].x, kept) else { continue }
                let end = runs[j].end + (m.takesX ? 1 : 0)
                guard !isDecimalPart(start: runs[i].start, end: end, in: s) else { continue }
                out.append(contentsOf: s[copied..<runs[i].start])
                out.append(contentsOf: m.masked.unicodeScalars)
                found.append((m.kind, m.masked))
                copied = end; i = j + 1; matched = true
                break
            }
            if !matched { i += 1 }
        }
        guard !found.isEmpty else { return (text, []) }
        out.append(contentsOf: s[copied...])
        return (String(out), found)
    }

    /// Whether `text` has an ASCII digit or a full-width one (U+FF10-FF19, `EF BC 90-99` in UTF-8): most
    /// messages have none and are returned untouched without decoding a scalar.
    private static func mayHaveDigits(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var k = 0
            while k < bytes.count {
                let b = bytes[k]
                if b &- 0x30 < 10 { return true }
                if b == 0xEF, k + 2 < bytes.count, bytes[k + 1] == 0xBC, bytes[k + 2] &- 0x90 < 10 { return true }
                k += 1
            }
            return false
        }
    }

    private static func digitRuns(_ s: [Unicode.Scalar], into digits: inout [UInt8]) -> [Run] {
        var runs: [Run] = [], k = 0
        while k < s.count {
            guard digit(s[k]) != nil else { k += 1; continue }
            var run = Run(start: k, end: k, first: digits.count, x: false)
            while k < s.count, let d = digit(s[k]) { digits.append(d); k += 1 }
            run.end = k
            run.x = k < s.count && isX(s[k])
            runs.append(run)
        }
        return runs
    }

    /// ASCII or full-width digit value.
    static func digit(_ c: Unicode.Scalar) -> UInt8? {
        switch c.value {
        case 0x30...0x39: UInt8(c.value - 0x30)
        case 0xFF10...0xFF19: UInt8(c.value - 0xFF10)
        default: nil
        }
    }

    /// The last character of an ID card, ASCII or full-width, either case.
    private static func isX(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x58, 0x78, 0xFF38, 0xFF58: true
        default: false
        }
    }
}
