/// An open-addressing hash table from feature hash to feature id.
///
/// Swift's `Dictionary` costs a hash of the already-hashed key and a bucket walk; with
/// about a hundred look-ups per message that was a measurable share of classify time,
/// and the keys are already uniformly distributed 64-bit hashes.
struct FeatureIndex: Sendable {
    private var keys: [UInt64]
    private var values: [Int32]
    private let mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// The id for `key`, or -1 when the feature never occurred in training.
    @inline(__always)
    func id(of key: UInt64) -> Int32 {
        var slot = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
        while true {
            let v = values[slot]
            if v < 0 { return -1 }
            if keys[slot] == key { return v }
            slot = (slot + 1) & mask
        }
    }

    /// Adds `key` if missing and returns its id.
    mutating func insert(_ key: UInt64) -> Int32 {
        var slot = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
        while values[slot] >= 0 {
            if keys[slot] == key { return values[slot] }
            slot = (slot + 1) & mask
        }
        precondition(count < mask, "FeatureIndex is full")
        keys[slot] = key
        values[slot] = Int32(count)
        count += 1
        return values[slot]
    }
}
