/// A folded message made only of scalars that are each a character of their own and equal
/// only to themselves (printable ASCII and tab, CJK ideographs, CJK and general punctuation,
/// full-width forms): for such text, searching and comparing scalars gives exactly what
/// `String`'s character-wise (canonically equivalent) search and Foundation's `contains` give,
/// without building a `String`. Nil for anything else (combining marks, emoji, compatibility
/// ideographs …), which keeps the `String` path.
struct PlainScalars {
    let scalars: [UInt32]

    init?(_ scalars: [UInt32]) {
        for s in scalars where !Self.isPlain(s) { return nil }
        self.scalars = scalars
    }

    @inline(__always)
    static func isPlain(_ s: UInt32) -> Bool {
        switch s {
        case 0x09, 0x20...0x7E, 0x2010...0x2027, 0x3000...0x3029, 0x3030...0x303F, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xFF01...0xFF5E: return true
        default: return false
        }
    }

    /// Without leading and trailing whitespace (`CharacterSet.whitespaces` among plain scalars).
    var trimmed: ArraySlice<UInt32> {
        let space: (UInt32) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x3000 }
        guard let first = scalars.firstIndex(where: { !space($0) }), let last = scalars.lastIndex(where: { !space($0) }) else { return [] }
        return scalars[first...last]
    }

    func contains(_ needle: [UInt32]) -> Bool {
        guard !needle.isEmpty, needle.count <= scalars.count else { return needle.isEmpty }
        let first = needle[0]
        for start in 0...(scalars.count - needle.count) where scalars[start] == first {
            var k = 1
            while k < needle.count && scalars[start + k] == needle[k] { k += 1 }
            if k == needle.count { return true }
        }
        return false
    }
}
