/// Replaces the words customers use with the word the knowledge base uses (退钱 → 退款).
///
/// Matching is longest-first and left to right, on already folded text, so one table
/// serves simplified and traditional input alike. In Chinese a variant matches anywhere
/// (there are no word boundaries); a Latin variant only matches a whole word, so that
/// `agent` does not fire inside `agenda`.
public struct SynonymTable: Sendable {
    struct Rule: Sendable {
        let variant: [UInt32]
        let canonical: [UInt32]
        let needsWordBoundary: Bool
    }

    /// Rules indexed by the variant's first scalar, longest variant first.
    private let rulesByFirstScalar: [UInt32: [Rule]]

    public static let empty = SynonymTable(pairs: [])

    /// - Parameter pairs: (variant, canonical), both already folded by `TextNormalizer.fold`.
    public init(pairs: [(variant: String, canonical: String)]) {
        var table: [UInt32: [Rule]] = [:]
        for pair in pairs {
            let variant = pair.variant.unicodeScalars.map(\.value)
            guard let first = variant.first else { continue }
            let latin = isLatinWord(variant)
            table[first, default: []].append(
                Rule(variant: variant, canonical: pair.canonical.unicodeScalars.map(\.value), needsWordBoundary: latin))
        }
        for key in table.keys {
            table[key]!.sort { $0.variant.count != $1.variant.count ? $0.variant.count > $1.variant.count : $0.variant.lexicographicallyPrecedes($1.variant) }
        }
        rulesByFirstScalar = table
    }

    /// Applies the table to `scalars`; returns the input unchanged when nothing matches.
    func apply(to scalars: [UInt32]) -> [UInt32] {
        guard !rulesByFirstScalar.isEmpty else { return scalars }
        var output: [UInt32] = []
        output.reserveCapacity(scalars.count + 8)
        var i = 0
        let n = scalars.count
        while i < n {
            if let rules = rulesByFirstScalar[scalars[i]], let rule = firstMatch(rules, in: scalars, at: i) {
                output.append(contentsOf: rule.canonical)
                i += rule.variant.count
            } else {
                output.append(scalars[i])
                i += 1
            }
        }
        return output
    }

    private func firstMatch(_ rules: [Rule], in scalars: [UInt32], at start: Int) -> Rule? {
        rules.first { matches($0.variant, in: scalars, at: start, wholeWord: $0.needsWordBoundary) }
    }
}
