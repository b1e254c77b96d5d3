import Foundation

/// Finds traditional and simplified characters in one text, for the `mixed_script` lint rule.
///
/// A character is *traditional* when simplification changes it (`ScriptConverter`: 處 → 处).
/// A character is *simplified* when the opposite transform changes it (处 → 處). Characters
/// both scripts write alike (只, 才, 出 …) are neither, so a traditional answer that uses
/// them is not flagged. The simplified → traditional table is built once, like
/// `ScriptConverter`'s, by one ICU transform over the whole CJK block.
public enum ScriptMix {
    static let traditionalForm: [UInt32] = buildTable()

    /// Whether simplification changes `scalar`.
    public static func isTraditional(_ scalar: UInt32) -> Bool {
        ScriptConverter.simplify(scalar) != scalar
    }

    /// Whether `scalar` is a simplified form that traditional text writes differently.
    public static func isSimplified(_ scalar: UInt32) -> Bool {
        guard scalar >= ScriptConverter.firstScalar && scalar <= ScriptConverter.lastScalar else { return false }
        let t = traditionalForm[Int(scalar - ScriptConverter.firstScalar)]
        return t != scalar && !isTraditional(scalar)
    }

    /// The distinct traditional and simplified characters of `text`, in order of appearance.
    public static func scan(_ text: String) -> (traditional: [Character], simplified: [Character]) {
        var traditional: [Character] = [], simplified: [Character] = []
        for scalar in text.unicodeScalars {
            let c = Character(scalar)
            if isTraditional(scalar.value) {
                if !traditional.contains(c) { traditional.append(c) }
            } else if isSimplified(scalar.value) {
                if !simplified.contains(c) { simplified.append(c) }
            }
        }
        return (traditional, simplified)
    }

    /// Converts traditional characters to simplified ones (the bot's house style).
    public static func simplified(_ text: String) -> String {
        var view = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            view.append(Unicode.Scalar(ScriptConverter.simplify(scalar.value)) ?? scalar)
        }
        return String(view)
    }

    private static func buildTable() -> [UInt32] {
        let identity = Array(ScriptConverter.firstScalar...ScriptConverter.lastScalar)
        var source = String.UnicodeScalarView()
        for value in identity { source.append(Unicode.Scalar(value)!) }
        guard let converted = String(source).applyingTransform(StringTransform("Simplified-Traditional"), reverse: false) else {
            return identity
        }
        let output = converted.unicodeScalars.map(\.value)
        guard output.count == identity.count else { return identity }
        return output
    }
}
