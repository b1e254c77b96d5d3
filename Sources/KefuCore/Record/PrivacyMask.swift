/// Masks phone, ID-card and bank-card numbers so they never reach logs, summaries or reports.
///
/// Customers type these numbers straight into chat, in ASCII or full-width digits, often grouped by single
/// spaces or hyphens (`6222 0212 3456 7890`, `138-1234-5678`). Anything that is stored or shown must pass here.
///
/// Masked forms (ASCII digits, fixed-width stars so the mask does not reveal the length; separators inside
/// the number are dropped except the one after a country prefix or a landline area code):
/// - mobile `138****5678`; with a prefix `+86 138****5678` (the `+86 `/`0086-`/`86` is kept as typed)
/// - landline `010-****5678` (area code and its separator kept, last 4 of the local number kept)
/// - ID card, 18 or 15 digits: `1101**********123X` (first 4, ten stars, last 4)
/// - bank card, 16-19 digits: `6222 **** **** 0123`; a run of 20+ digits (an account number): `****0123`
///
/// Every masked form is a fixed point: masking masked text changes nothing.
/// Never masked: fewer than 10 digits (amounts, 12315, codes, dates, times), decimals such as `1,234.56`,
/// and digits glued to a Latin letter (`DD20261123001`), except the trailing X of an ID card.
/// One linear pass over Unicode scalars and no regular expressions: this runs on every logged message.
public enum PrivacyMask {
    public enum Kind: String, Sendable { case phone, idCard = "id_card", bankCard = "bank_card" }

    /// `text` with every sensitive number masked; other text (order numbers, amounts, dates, 12315) unchanged.
    public static func mask(_ text: String) -> String { scan(text).text }

    /// What was found, for tests and explanations: kind and the masked form.
    public static func findings(in text: String) -> [(kind: Kind, masked: String)] { scan(text).found }

    /// A maximal run of digits: scalars `start..<end`; `x` if an X/x is glued to its end.
    private struct Run { var start: Int, end: Int, digits: [UInt8], x: Bool }
    private struct Match { var kind: Kind, masked: String, takesX = false }

    private static func scan(_ text: String) -> (text: String, found: [(kind: Kind, masked: String)]) {
        guard text.unicodeScalars.contains(where: { digit($0) != nil }) else { return (text, []) }
        let s = Array(text.unicodeScalars)
        var runs: [Run] = [], k = 0
        while k < s.count {
            guard digit(s[k]) != nil else { k += 1; continue }
            var run = Run(start: k, end: k, digits: [], x: false)
            while k < s.count, let d = digit(s[k]) { run.digits.append(d); k += 1 }
            run.end = k
            run.x = k < s.count && [0x58, 0x78, 0xFF38, 0xFF58].contains(s[k].value)
            runs.append(run)
        }
        var out = String.UnicodeScalarView(), found: [(kind: Kind, masked: String)] = [], copied = 0, i = 0
        while i < runs.count {
            // Runs joined by one separator may be one number; try the longest chain first (at most 6 runs).
            var last = i
            while last + 1 < runs.count, last - i < 5, runs[last + 1].start == runs[last].end + 1,
                  separator(s[runs[last].end]) != nil { last += 1 }
            var matched = false
            for j in stride(from: last, through: i, by: -1) {
                let chain = runs[i...j], sep = j > i ? separator(s[runs[i].end])! : ""
                guard let m = classify(chain.flatMap(\.digits), chain.map(\.digits.count), chain.last!.x, sep)
                else { continue }
                let end = runs[j].end + (m.takesX ? 1 : 0)
                guard isClear(before: runs[i].start, after: end, in: s) else { continue }
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

    /// What the digits are, given how they were grouped (`groups`: run lengths) and whether an X follows.
    private static func classify(_ d: [UInt8], _ groups: [Int], _ x: Bool, _ sep: String) -> Match? {
        let n = d.count
        if x {  // only an ID card may end in X; any other X is a letter glued to the run
            guard n == 17, groups == [17] || groups == [6, 8, 3], isID(d, fullYear: true) else { return nil }
            return Match(kind: .idCard, masked: digits(d.prefix(4)) + "**********" + digits(d.suffix(3)) + "X",
                         takesX: true)
        }
        if let phone = mobile(d, groups) { return Match(kind: .phone, masked: phone) }
        let prefix = d.starts(with: [0, 0, 8, 6]) ? 4 : d.starts(with: [8, 6]) ? 2 : 0
        if prefix > 0, groups.count > 1 || n == prefix + 11 {
            let split = groups[0] == prefix
            if let phone = mobile(Array(d.dropFirst(prefix)), split ? Array(groups.dropFirst()) : [n - prefix]) {
                return Match(kind: .phone, masked: digits(d.prefix(prefix)) + (split ? sep : "") + phone)
            }
        }
        // Landline: 0 + 2-3 digit area code, a separator, then 7-8 digits (in one or two groups).
        if (2...3).contains(groups.count), (3...4).contains(groups[0]), d[0] == 0, d[1] != 0,
           (7...8).contains(n - groups[0]), groups.dropFirst().allSatisfy({ $0 >= 3 }) {
            return Match(kind: .phone, masked: digits(d.prefix(groups[0])) + sep + "****" + digits(d.suffix(4)))
        }
        if (n == 18 && (groups == [18] || groups == [6, 8, 4]) && isID(d, fullYear: true))
            || (n == 15 && (groups == [15] || groups == [6, 6, 3]) && isID(d, fullYear: false)) {
            return Match(kind: .idCard, masked: digits(d.prefix(4)) + "**********" + digits(d.suffix(4)))
        }
        // Cards as printed (one run, groups of 4, 6+13) are masked even if Luhn fails: customers make typos.
        // Odd groupings could be unrelated numbers side by side, so there the Luhn check must vouch for them,
        // and groups under 3 digits (a date's month and day) never join one.
        let inFours = groups.count > 1 && groups.dropLast().allSatisfy { $0 == 4 } && groups.last! <= 4
        let vouched = groups.allSatisfy { $0 >= 3 } && passesLuhn(d)
        if (16...19).contains(n), groups.count == 1 || inFours || groups == [6, 13] || vouched {
            return Match(kind: .bankCard, masked: digits(d.prefix(4)) + " **** **** " + digits(d.suffix(4)))
        }
        if n >= 20, groups.count == 1 || inFours {
            return Match(kind: .bankCard, masked: "****" + digits(d.suffix(4)))
        }
        return nil
    }

    /// A mainland mobile, 1[3-9] + 9 digits, typed whole or as 3-4-4 / 3-8.
    private static func mobile(_ d: [UInt8], _ groups: [Int]) -> String? {
        guard d.count == 11, groups == [11] || groups == [3, 4, 4] || groups == [3, 8],
              d[0] == 1, d[1] >= 3 else { return nil }
        return digits(d.prefix(3)) + "****" + digits(d.suffix(4))
    }

    /// Province digit 1-8 and a plausible birth date at the 7th digit: yyyymmdd (19xx/20xx), or yymmdd for old IDs.
    private static func isID(_ d: [UInt8], fullYear: Bool) -> Bool {
        func pair(_ k: Int) -> UInt8 { d[k] * 10 + d[k + 1] }
        let m = fullYear ? 10 : 8
        return (1...8).contains(d[0]) && (!fullYear || pair(6) == 19 || pair(6) == 20)
            && (1...12).contains(pair(m)) && (1...31).contains(pair(m + 2))
    }

    private static func passesLuhn(_ d: [UInt8]) -> Bool {
        var sum = 0
        for (k, v) in d.reversed().enumerated() {
            let x = k % 2 == 1 ? Int(v) * 2 : Int(v)
            sum += x > 9 ? x - 9 : x
        }
        return sum % 10 == 0
    }

    /// Not glued to a Latin letter, and not the whole or fractional part of a decimal (`1234.56`).
    private static func isClear(before start: Int, after end: Int, in s: [Unicode.Scalar]) -> Bool {
        func isPoint(_ c: Unicode.Scalar) -> Bool { c == "." || c == "\u{FF0E}" }
        if start > 0, isLetter(s[start - 1]) || (isPoint(s[start - 1]) && start > 1 && digit(s[start - 2]) != nil) {
            return false
        }
        if end < s.count, isLetter(s[end]) || (isPoint(s[end]) && end + 1 < s.count && digit(s[end + 1]) != nil) {
            return false
        }
        return true
    }

    /// ASCII or full-width digit value.
    private static func digit(_ c: Unicode.Scalar) -> UInt8? {
        switch c.value {
        case 0x30...0x39: UInt8(c.value - 0x30)
        case 0xFF10...0xFF19: UInt8(c.value - 0xFF10)
        default: nil
        }
    }

    /// A separator allowed inside a number (space or hyphen, ASCII or full-width), as its ASCII form.
    private static func separator(_ c: Unicode.Scalar) -> String? {
        switch c.value {
        case 0x20, 0x3000: " "
        case 0x2D, 0xFF0D: "-"
        default: nil
        }
    }

    private static func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x41...0x5A, 0x61...0x7A, 0xFF21...0xFF3A, 0xFF41...0xFF5A: true
        default: false
        }
    }

    private static func digits(_ d: some Sequence<UInt8>) -> String {
        String(String.UnicodeScalarView(d.map { Unicode.Scalar($0 + 0x30) }))
    }
}
