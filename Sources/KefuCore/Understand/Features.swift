/// Which n-grams describe a message. Stored with the compiled knowledge base so that a
/// message is always read the way the training examples were.
public struct FeatureSettings: Sendable, Equatable, Codable {
    /// Character n-gram sizes inside runs of Chinese (and other unspaced scripts).
    /// 1…2 beat 1…3 on SMP2017 (90.4% against 88.6%) and on the shipped knowledge base.
    public var ideographNGrams: ClosedRange<Int> = 1...2
    /// N-gram sizes at the two ends of a run of Chinese, marked as ends: 「<打开」 (the run
    /// starts with 打开), 「怎么做>」 (it ends with 怎么做). 0...0 turns them off, the default:
    /// 1...2 measured SMP2017 valid 90.65% (against 90.26%) and shipped-KB topic accuracy
    /// 94.39% (against 93.62%), but lost 3 of 74 must-hand-off messages and 3 regression
    /// cases. `kefu eval --cjk-edges 1-2` tries it.
    public var ideographEdgeNGrams: ClosedRange<Int> = 0...0
    /// Word n-gram sizes over Latin-script words.
    public var wordNGrams: ClosedRange<Int> = 1...2
    /// Character n-gram sizes inside each Latin word, with `<` `>` marking its ends, so
    /// "refund" and "refunded" share "<re", "ref", "efu" … (0...0 turns them off). Applied
    /// to every word of two letters or more: leaving out short words ("my", "to") cost a
    /// point. 3-grams alone matched 3…5 on CLINC150 (92.0% in scope, better out-of-scope
    /// recall) and on the shipped knowledge base, at 1.6× the speed.
    public var subwordNGrams: ClosedRange<Int> = 3...3
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
    case ideographEdge = 4

    /// N-grams of Chinese runs. Their hashes are odd and all others even (`taggedHash`), so
    /// training can tell a Latin-script feature from its hash alone: input dropout applies
    /// only to Latin-script features (see `TrainingSettings.featureDropout`).
    var isIdeographic: Bool { self == .ideographs || self == .ideographEdge }
}

/// A feature's hash with its lowest bit set for Chinese n-grams and cleared for the rest.
@inline(__always)
func taggedHash(_ kind: FeatureKind, _ hash: UInt64) -> UInt64 {
    kind.isIdeographic ? hash | 1 : hash & ~1
}

/// Whether a tagged hash is a Latin-script feature (a word or subword).
@inline(__always)
func isLatinFeature(_ hash: UInt64) -> Bool { hash & 1 == 0 }

/// Receives every n-gram of a message as it is found, with its hash already computed.
protocol FeatureSink {
    mutating func emit(_ kind: FeatureKind, hash: UInt64, _ scalars: UnsafeBufferPointer<UInt32>)
}

/// Splits a normalised message into runs and emits its n-grams.
///
/// One traversal serves two sinks: the hashing sink on the per-message path and the
/// naming sink that `kefu explain` uses, so explanations always show the real features.
/// Hashes are FNV-1a, extended one scalar at a time: every n-gram starting at one position
/// costs one step more than the one before, instead of hashing each from scratch.
struct FeatureExtractor: Sendable {
    let settings: FeatureSettings

    func extract<Sink: FeatureSink>(_ scalars: [UInt32], into sink: inout Sink) {
        scalars.withUnsafeBufferPointer { text in
            var i = 0
            let n = text.count
            var words: [Range<Int>] = []
            while i < n {
                let kind = CharacterClass.of(text[i])
                let runStart = i
                while i < n && CharacterClass.of(text[i]) == kind { i += 1 }
                switch kind {
                case .ideograph:
                    emitNGrams(.ideographs, text, runStart..<i, sizes: settings.ideographNGrams, into: &sink)
                    emitEdges(text, runStart..<i, into: &sink)
                case .word:
                    words.append(runStart..<i)
                    emitSubwords(text, runStart..<i, into: &sink)
                case .separator:
                    break
                }
            }
            emitWordNGrams(text, words, into: &sink)
        }
    }

    /// Every n-gram of `run` whose size is in `sizes`.
    private func emitNGrams<Sink: FeatureSink>(_ kind: FeatureKind, _ text: UnsafeBufferPointer<UInt32>, _ run: Range<Int>,
                                               sizes: ClosedRange<Int>, into sink: inout Sink) {
        guard sizes.lowerBound > 0 else { return }
        for start in run {
            var h = featureHashSeed(kind)
            let longest = min(sizes.upperBound, run.upperBound - start)
            guard longest >= sizes.lowerBound else { break }
            for size in 1...longest {
                h = featureHashStep(h, text[start + size - 1])
                if size >= sizes.lowerBound {
                    sink.emit(kind, hash: h, UnsafeBufferPointer(rebasing: text[start..<(start + size)]))
                }
            }
        }
    }

    /// The n-grams that start or end a run of Chinese, each with its end marker.
    private func emitEdges<Sink: FeatureSink>(_ text: UnsafeBufferPointer<UInt32>, _ run: Range<Int>, into sink: inout Sink) {
        let sizes = settings.ideographEdgeNGrams
        guard sizes.lowerBound > 0, run.count >= 2 else { return }
        let longest = min(sizes.upperBound, run.count)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: longest + 1) { marked in
            // "<" and the first `size` characters.
            marked[0] = 0x3C
            var h = featureHashStep(featureHashSeed(.ideographEdge), 0x3C)
            for size in 1...longest {
                marked[size] = text[run.lowerBound + size - 1]
                h = featureHashStep(h, marked[size])
                if size >= sizes.lowerBound { sink.emit(.ideographEdge, hash: h, UnsafeBufferPointer(rebasing: marked[0...size])) }
            }
            // The last `size` characters and ">".
            for size in sizes.lowerBound...longest {
                var h = featureHashSeed(.ideographEdge)
                for k in 0..<size {
                    marked[k] = text[run.upperBound - size + k]
                    h = featureHashStep(h, marked[k])
                }
                marked[size] = 0x3E
                h = featureHashStep(h, 0x3E)
                sink.emit(.ideographEdge, hash: h, UnsafeBufferPointer(rebasing: marked[0...size]))
            }
        }
    }

    private func emitSubwords<Sink: FeatureSink>(_ text: UnsafeBufferPointer<UInt32>, _ word: Range<Int>, into sink: inout Sink) {
        guard settings.subwordNGrams.lowerBound > 0, word.count >= 2, word.count <= 64 else { return }
        // "<word>": the ends are part of the subwords, so "<re" (a prefix) differs from "re".
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: word.count + 2) { marked in
            marked[0] = 0x3C
            for k in 0..<word.count { marked[k + 1] = text[word.lowerBound + k] }
            marked[word.count + 1] = 0x3E
            emitNGrams(.subword, UnsafeBufferPointer(marked), 0..<(word.count + 2), sizes: settings.subwordNGrams, into: &sink)
        }
    }

    /// Word n-grams, hashed as the words joined by single spaces.
    private func emitWordNGrams<Sink: FeatureSink>(_ text: UnsafeBufferPointer<UInt32>, _ words: [Range<Int>], into sink: inout Sink) {
        let sizes = settings.wordNGrams
        guard sizes.lowerBound > 0, !words.isEmpty else { return }
        for first in words.indices {
            var h = featureHashSeed(.words)
            let longest = min(sizes.upperBound, words.count - first)
            for size in 1...longest {
                let word = words[first + size - 1]
                if size > 1 { h = featureHashStep(h, 0x20) }
                for k in word { h = featureHashStep(h, text[k]) }
                guard size >= sizes.lowerBound else { continue }
                if size == 1 {
                    sink.emit(.words, hash: h, UnsafeBufferPointer(rebasing: text[word]))
                } else {
                    // Only the naming sink reads the scalars; the span covers the words and what lies between.
                    sink.emit(.words, hash: h, UnsafeBufferPointer(rebasing: text[words[first].lowerBound..<word.upperBound]))
                }
            }
        }
    }
}

@inline(__always)
func featureHashSeed(_ kind: FeatureKind) -> UInt64 {
    (0xcbf29ce484222325 ^ UInt64(kind.rawValue)) &* 0x100000001b3
}

@inline(__always)
func featureHashStep(_ h: UInt64, _ v: UInt32) -> UInt64 {
    (h ^ UInt64(v)) &* 0x100000001b3
}

/// Collects feature hashes, for classification.
struct HashingSink: FeatureSink {
    var hashes: [UInt64] = []
    @inline(__always)
    mutating func emit(_ kind: FeatureKind, hash: UInt64, _ scalars: UnsafeBufferPointer<UInt32>) {
        hashes.append(taggedHash(kind, hash))
    }
}

/// Collects hash → readable name, for explanations.
struct NamingSink: FeatureSink {
    var names: [UInt64: String] = [:]
    mutating func emit(_ kind: FeatureKind, hash: UInt64, _ scalars: UnsafeBufferPointer<UInt32>) {
        let name = String(decoding: Array(scalars))
        // Words are quoted so the word "how" is not mistaken for the subword how (from <how>).
        names[taggedHash(kind, hash)] = kind == .words ? "\"\(name)\"" : name
    }
}
