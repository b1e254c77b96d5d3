/// Which n-grams describe a message. Stored with the compiled knowledge base so that a
/// message is always read the way the training examples were.
public struct FeatureSettings: Sendable, Equatable, Codable {
    /// Character n-gram sizes inside runs of Chinese (and other unspaced scripts).
    /// 1…2 beat 1…3 on SMP2017 (90.4% against 88.6%) and on the shipped knowledge base.
    public var ideographNGrams: ClosedRange<Int> = 1...2
    /// Word n-gram sizes over Latin-script words.
    public var wordNGrams: ClosedRange<Int> = 1...2
    /// Character n-gram sizes inside each Latin word, with `<` `>` marking its ends, so
    /// "refund" and "refunded" share "<ref", "refun" … (0...0 turns them off). Applied to
    /// every word of two letters or more: leaving out short words ("my", "to") cost a point.
    public var subwordNGrams: ClosedRange<Int> = 3...5
    /// Weight, relative to the rarest known feature, with which features never seen in
    /// training count in a message's norm. Higher: more doubt about unfamiliar messages.
    public var unknownWeight: Float = 1

    public init() {}

    /// Settings for a knowledge base of hand-written phrasings. With a few hundred short
    /// examples most n-grams of a real message are unseen even when it is in scope, so
    /// unseen n-grams weigh less than with a data set of thousands (measured with
    /// `kefu eval --kb . --test Tests/Data/kb-eval.jsonl`).
    public static var knowledgeBase: FeatureSettings {
        var settings = FeatureSettings()
        settings.unknownWeight = 0.3
        return settings
    }
}

/// The kind of an n-gram, part of its identity: the bigram 退款 and the word "退款" differ.
public enum FeatureKind: UInt8, Sendable {
    case ideographs = 1
    case words = 2
    case subword = 3
}

/// Receives every n-gram of a message as it is found.
protocol FeatureSink {
    mutating func emit(_ kind: FeatureKind, _ scalars: UnsafeBufferPointer<UInt32>)
}

/// Splits a normalised message into runs and emits its n-grams.
///
/// One traversal serves two sinks: the hashing sink on the per-message path and the
/// naming sink that `kefu explain` uses, so explanations always show the real features.
struct FeatureExtractor: Sendable {
    let settings: FeatureSettings

    func extract<Sink: FeatureSink>(_ scalars: [UInt32], into sink: inout Sink) {
        scalars.withUnsafeBufferPointer { text in
            var runStart = 0
            var i = 0
            let n = text.count
            // Word starts/ends of the Latin words seen so far, for word n-grams across the message.
            var words: [(start: Int, end: Int)] = []
            var buffer = [UInt32](repeating: 0, count: 64)
            while i < n {
                let kind = CharacterClass.of(text[i])
                runStart = i
                while i < n && CharacterClass.of(text[i]) == kind { i += 1 }
                switch kind {
                case .ideograph:
                    emitIdeographRun(text, runStart..<i, into: &sink)
                case .word:
                    words.append((runStart, i))
                    emitSubwords(text, runStart..<i, buffer: &buffer, into: &sink)
                case .separator:
                    break
                }
            }
            emitWordNGrams(text, words, buffer: &buffer, into: &sink)
        }
    }

    private func emitIdeographRun<Sink: FeatureSink>(_ text: UnsafeBufferPointer<UInt32>, _ run: Range<Int>, into sink: inout Sink) {
        for size in settings.ideographNGrams where size <= run.count {
            for start in run.lowerBound...(run.upperBound - size) {
                sink.emit(.ideographs, UnsafeBufferPointer(rebasing: text[start..<(start + size)]))
            }
        }
    }

    private func emitSubwords<Sink: FeatureSink>(_ text: UnsafeBufferPointer<UInt32>, _ word: Range<Int>, buffer: inout [UInt32], into sink: inout Sink) {
        guard settings.subwordNGrams.lowerBound > 0, word.count >= 2 else { return }
        let marked = word.count + 2
        if buffer.count < marked { buffer = [UInt32](repeating: 0, count: marked * 2) }
        buffer.withUnsafeMutableBufferPointer { b in
            b[0] = 0x3C  // <
            for k in 0..<word.count { b[k + 1] = text[word.lowerBound + k] }
            b[marked - 1] = 0x3E  // >
            let view = UnsafeBufferPointer(b)
            for size in settings.subwordNGrams where size < marked {
                for start in 0...(marked - size) {
                    sink.emit(.subword, UnsafeBufferPointer(rebasing: view[start..<(start + size)]))
                }
            }
        }
    }

    private func emitWordNGrams<Sink: FeatureSink>(_ text: UnsafeBufferPointer<UInt32>, _ words: [(start: Int, end: Int)], buffer: inout [UInt32], into sink: inout Sink) {
        for size in settings.wordNGrams where size <= words.count {
            for first in 0...(words.count - size) {
                if size == 1 {
                    sink.emit(.words, UnsafeBufferPointer(rebasing: text[words[first].start..<words[first].end]))
                    continue
                }
                // Join the words with single spaces into the scratch buffer.
                var length = 0
                for w in first..<(first + size) { length += words[w].end - words[w].start + 1 }
                if buffer.count < length { buffer = [UInt32](repeating: 0, count: length * 2) }
                buffer.withUnsafeMutableBufferPointer { b in
                    var at = 0
                    for w in first..<(first + size) {
                        if at > 0 { b[at] = 0x20; at += 1 }
                        for k in words[w].start..<words[w].end { b[at] = text[k]; at += 1 }
                    }
                    sink.emit(.words, UnsafeBufferPointer(rebasing: UnsafeBufferPointer(b)[0..<at]))
                }
            }
        }
    }
}

/// FNV-1a over the kind and the scalars: the identity of a feature on the hot path.
@inline(__always)
func featureHash(_ kind: FeatureKind, _ scalars: UnsafeBufferPointer<UInt32>) -> UInt64 {
    var h: UInt64 = 0xcbf29ce484222325 ^ UInt64(kind.rawValue)
    h = h &* 0x100000001b3
    for v in scalars {
        h = (h ^ UInt64(v)) &* 0x100000001b3
    }
    return h
}

/// Collects feature hashes, for classification.
struct HashingSink: FeatureSink {
    var hashes: [UInt64] = []
    mutating func emit(_ kind: FeatureKind, _ scalars: UnsafeBufferPointer<UInt32>) {
        hashes.append(featureHash(kind, scalars))
    }
}

/// Collects hash → readable name, for explanations.
struct NamingSink: FeatureSink {
    var names: [UInt64: String] = [:]
    mutating func emit(_ kind: FeatureKind, _ scalars: UnsafeBufferPointer<UInt32>) {
        let name = String(decoding: Array(scalars))
        names[featureHash(kind, scalars)] = kind == .words && !name.contains(" ") ? name : (kind == .words ? "\"\(name)\"" : name)
    }
}
