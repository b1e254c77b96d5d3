/// What a scalar contributes to the classifier's view of a message.
enum CharacterClass {
    /// Han ideographs, kana, hangul: scripts written without spaces, read as character n-grams.
    case ideograph
    /// Latin letters and digits: read as words.
    case word
    /// Punctuation, symbols, emoji, spaces, control characters: a boundary.
    case separator

    @inline(__always)
    static func of(_ v: UInt32) -> CharacterClass {
        if v < 0x80 {
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) { return .word }
            return .separator
        }
        switch v {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0xF900...0xFAFF, 0x20000...0x2FA1F,
             0x3040...0x30FF, 0xAC00...0xD7AF:
            return .ideograph
        case 0xC0...0x24F where v != 0xD7 && v != 0xF7:  // Latin-1 and Latin Extended letters
            return .word
        case 0x370...0x52F:  // Greek, Cyrillic
            return .word
        default:
            return .separator
        }
    }
}
