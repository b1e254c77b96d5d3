/// A message as the classifier sees it, next to the text the customer actually wrote.
public struct NormalizedText: Sendable, Equatable {
    /// What the customer typed, for display and transcripts.
    public let original: String
    /// Width-, case- and script-folded text with punctuation kept: emotion cues read this
    /// (「！！！」 becomes "!!!", 「著急」 becomes 着急).
    public let folded: [UInt32]
    /// The classification form: folded, punctuation and emoji turned into single spaces,
    /// synonyms applied.
    public let scalars: [UInt32]

    public var text: String { String(decoding: scalars) }
    public var foldedText: String { String(decoding: folded) }
}

extension String {
    init(decoding scalars: [UInt32]) {
        var view = String.UnicodeScalarView()
        for v in scalars { if let s = Unicode.Scalar(v) { view.append(s) } }
        self = String(view)
    }
}

/// Normalisation: the first stage of the pipeline.
///
/// Full-width forms become half-width, Latin letters are lower-cased, traditional Chinese
/// becomes simplified, punctuation and emoji become word boundaries and synonyms are
/// replaced. Works on `UInt32` scalar values: this runs for every message.
public struct TextNormalizer: Sendable {
    public let synonyms: SynonymTable

    public init(synonyms: SynonymTable = .empty) {
        self.synonyms = synonyms
    }

    public func normalize(_ text: String) -> NormalizedText {
        let folded = Self.fold(text)
        var words: [UInt32] = []
        words.reserveCapacity(folded.count)
        var pendingSpace = false
        var previous: UInt32 = 0
        for (index, v) in folded.enumerated() {
            switch CharacterClass.of(v) {
            case .ideograph, .word:
                if pendingSpace && !words.isEmpty { words.append(0x20) }
                pendingSpace = false
                words.append(v)
            case .separator:
                // "what's" → "whats": an apostrophe inside a Latin word joins it.
                if (v == 0x27 || v == 0x2019), CharacterClass.of(previous) == .word,
                   index + 1 < folded.count, CharacterClass.of(folded[index + 1]) == .word {
                    break
                }
                pendingSpace = true
            }
            previous = v
        }
        return NormalizedText(original: text, folded: folded, scalars: synonyms.apply(to: words))
    }

    /// Width, case and script folding, scalar by scalar; punctuation is kept.
    public static func fold(_ text: String) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            var v = scalar.value
            if v >= 0xFF01 && v <= 0xFF5E { v -= 0xFEE0 }  // full-width ASCII
            else if v == 0x3000 { v = 0x20 }              // ideographic space
            if v < 0x80 {
                if v >= 0x41 && v <= 0x5A { v += 0x20 }
            } else if v >= 0x4E00 && v <= 0x9FFF {
                v = ScriptConverter.simplify(v)
            } else if v >= 0xC0 && v < 0x530, let s = Unicode.Scalar(v), s.properties.isUppercase {
                v = s.properties.lowercaseMapping.unicodeScalars.first?.value ?? v
            } else {
                v = foldPunctuation(v)
            }
            out.append(v)
        }
        return out
    }

    /// CJK punctuation that carries intensity (！？) folds to ASCII so "!!!" cues see it.
    @inline(__always)
    static func foldPunctuation(_ v: UInt32) -> UInt32 {
        switch v {
        case 0x3002: return 0x2E   // 。
        case 0x3001: return 0x2C   // 、
        default: return v
        }
    }
}
