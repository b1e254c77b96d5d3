/// What a chain of digit groups is: the shapes of phone, ID-card and bank-card numbers.
///
/// Only the digits and how they were grouped count here; where the number stands (labels, codes,
/// decimals) is `PrivacyMask+Context.swift`'s business.
extension PrivacyMask {
    struct Match { var kind: Kind, masked: String, takesX = false }

    /// What the digits are, given how they were grouped (`groups`: run lengths), whether an X follows,
    /// and the separator to keep after a prefix or area code (`kept`).
    static func classify(_ d: [UInt8], _ groups: [Int], _ x: Bool, _ kept: String) -> Match? {
        let n = d.count
        // Only an ID card takes a glued X; after anything else it is a letter like any other, left in place.
        if x, n == 17, isID(d, fullYear: true), groups == [17] || groups == [6, 8, 3] || idCheck(d) == 10 {
            return Match(kind: .idCard, masked: digits(d.prefix(4)) + "**********" + digits(d.suffix(3)) + "X",
                         takesX: true)
        }
        if let phone = mobile(d, groups) { return Match(kind: .phone, masked: phone) }
        let prefix = d.starts(with: [0, 0, 8, 6]) ? 4 : d.starts(with: [8, 6]) ? 2 : 0
        if prefix > 0, groups.count > 1 || n == prefix + 11 {
            let split = groups[0] == prefix
            if let phone = mobile(Array(d.dropFirst(prefix)), split ? Array(groups.dropFirst()) : [n - prefix]) {
                return Match(kind: .phone, masked: digits(d.prefix(prefix)) + (split ? kept : "") + phone)
            }
        }
        // Landline: 0 + 2-3 digit area code, a separator, then 7-8 digits (in one or two groups).
        if (2...3).contains(groups.count), (3...4).contains(groups[0]), d[0] == 0, d[1] != 0,
           (7...8).contains(n - groups[0]), groups.dropFirst().allSatisfy({ $0 >= 3 }) {
            return Match(kind: .phone, masked: digits(d.prefix(groups[0])) + kept + "****" + digits(d.suffix(4)))
        }
        // ID cards as printed (whole, or 6-8-4) need a plausible birth date; grouped any other way the
        // check digit must vouch for them too. Old 15-digit cards have no check digit.
        if (n == 18 && isID(d, fullYear: true) && (groups == [18] || groups == [6, 8, 4] || idCheck(d) == d[17]))
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
        // 20+ digits in fours whose first four groups pass Luhn are a card with more after it (two cards
        // in a row): refused here, so the shorter chain is masked as the card and the rest judged anew.
        if n >= 20, groups.count == 1 || (inFours && !passesLuhn(d.prefix(16))) {
            return Match(kind: .bankCard, masked: "****" + digits(d.suffix(4)))
        }
        return nil
    }

    /// A mainland mobile, 1[3-9] + 9 digits, typed whole or as 3-4-4 / 3-8.
    static func mobile(_ d: [UInt8], _ groups: [Int]) -> String? {
        guard d.count == 11, groups == [11] || groups == [3, 4, 4] || groups == [3, 8],
              d[0] == 1, d[1] >= 3 else { return nil }
        return digits(d.prefix(3)) + "****" + digits(d.suffix(4))
    }

    /// Province digit 1-8 and a plausible birth date at the 7th digit: yyyymmdd (19xx/20xx), or yymmdd for old IDs.
    static func isID(_ d: [UInt8], fullYear: Bool) -> Bool {
        func pair(_ k: Int) -> UInt8 { d[k] * 10 + d[k + 1] }
        let m = fullYear ? 10 : 8
        return (1...8).contains(d[0]) && (!fullYear || pair(6) == 19 || pair(6) == 20)
            && (1...12).contains(pair(m)) && (1...31).contains(pair(m + 2))
    }

    /// The check digit of an 18-character ID card from its first 17 digits (ISO 7064 MOD 11-2); 10 stands for X.
    static func idCheck(_ d: [UInt8]) -> UInt8 {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        var sum = 0
        for k in 0..<17 { sum += Int(d[k]) * weights[k] }
        return [1, 0, 10, 9, 8, 7, 6, 5, 4, 3, 2][sum % 11]
    }

    static func passesLuhn(_ d: some BidirectionalCollection<UInt8>) -> Bool {
        var sum = 0
        for (k, v) in d.reversed().enumerated() {
            let x = k % 2 == 1 ? Int(v) * 2 : Int(v)
            sum += x > 9 ? x - 9 : x
        }
        return sum % 10 == 0
    }

    static func digits(_ d: some Sequence<UInt8>) -> String {
        String(String.UnicodeScalarView(d.map { Unicode.Scalar($0 + 0x30) }))
    }
}
