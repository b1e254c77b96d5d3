/// Whether `pattern` occurs in `text` starting exactly at `start`.
///
/// The one matching rule behind synonyms, keywords and emotion cues: Chinese matches
/// anywhere (there are no word boundaries to respect), while a Latin pattern must be a
/// whole word, so `agent` does not fire inside `agenda` nor `sue` inside `issue`.
@inline(__always)
func matches(_ pattern: [UInt32], in text: [UInt32], at start: Int, wholeWord: Bool) -> Bool {
    let end = start + pattern.count
    guard !pattern.isEmpty, start >= 0, end <= text.count else { return false }
    for k in 0..<pattern.count where text[start + k] != pattern[k] { return false }
    if wholeWord {
        if start > 0 && CharacterClass.of(text[start - 1]) == .word { return false }
        if end < text.count && CharacterClass.of(text[end]) == .word { return false }
    }
    return true
}

/// True when every scalar of `pattern` is a Latin letter or digit: such a pattern is a word.
func isLatinWord(_ pattern: [UInt32]) -> Bool {
    pattern.allSatisfy { CharacterClass.of($0) == .word }
}
