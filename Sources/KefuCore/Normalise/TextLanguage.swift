/// Whether a text is written mainly in English or in Chinese: English customers get English
/// replies, and a test can ask which language a reply was written in.
public enum TextLanguage: String, Sendable {
    case en, zh

    /// English when Latin letters outnumber Chinese characters (counted once per character,
    /// so one Chinese word in an English sentence does not flip it; digits and punctuation
    /// do not count). A text with neither is Chinese, the centre's default.
    public static func of(_ text: String) -> TextLanguage {
        var latin = 0, han = 0
        for s in text.unicodeScalars {
            switch s.value {
            case 0x41...0x5A, 0x61...0x7A: latin += 1
            case 0x3400...0x9FFF, 0xF900...0xFAFF: han += 1
            default: break
            }
        }
        // A Chinese character carries about a word; an English word is about five letters.
        return latin > 0 && latin >= han * 3 ? .en : .zh
    }
}
