import Foundation

/// Converts traditional Chinese characters to simplified ones, one scalar at a time.
///
/// Foundation's ICU transform `Traditional-Simplified` is correct but costs tens of
/// microseconds per call, far too slow for the per-message path. So the table is built
/// once per process by running the transform over the whole CJK Unified Ideographs block
/// in a single call (about 30 ms) and reading off which characters changed.
public enum ScriptConverter {
    static let firstScalar: UInt32 = 0x4E00
    static let lastScalar: UInt32 = 0x9FFF

    /// `simplified[i]` is the simplified form of `firstScalar + i` (itself when unchanged).
    static let simplified: [UInt32] = buildTable()

    /// The simplified form of `scalar`, or `scalar` itself when it has none.
    @inline(__always)
    public static func simplify(_ scalar: UInt32) -> UInt32 {
        guard scalar >= firstScalar && scalar <= lastScalar else { return scalar }
        return simplified[Int(scalar - firstScalar)]
    }

    private static func buildTable() -> [UInt32] {
        let identity = Array(firstScalar...lastScalar)
        var source = String.UnicodeScalarView()
        for value in identity { source.append(Unicode.Scalar(value)!) }
        let transform = StringTransform("Traditional-Simplified")
        guard let converted = String(source).applyingTransform(transform, reverse: false) else {
            return identity
        }
        let output = converted.unicodeScalars.map(\.value)
        // The transform is one-to-one on single ideographs; if a future ICU ever changes
        // that, fall back to no conversion rather than misaligning the whole table.
        guard output.count == identity.count else { return identity }
        return output
    }
}
