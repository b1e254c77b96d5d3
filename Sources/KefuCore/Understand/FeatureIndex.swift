/// An open-addressing hash table from feature hash to feature id and IDF weight.
///
/// Swift's `Dictionary` costs a hash of the already-hashed key and a bucket walk; with
/// about a hundred look-ups per message that was a measurable share of classify time,
/// and the keys are already uniformly distributed 64-bit hashes. Key, id and weight sit
/// in one 16-byte slot, so a look-up touches one cache line.
struct FeatureIndex: Sendable {
    struct Slot: Sendable {
        var key: UInt64 = 0
        var id: Int32 = -1
        var weight: Float = 0
    }
    private var slots: [Slot]
    private let mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Slot](repeating: Slot(), count: size)
        mask = size - 1
    }

    /// The id and weight of `key`, or id -1 when the feature never occurred in training.
    @inline(__always)
    func lookup(_ key: UInt64) -> (id: Int32, weight: Float) {
        slots.withUnsafeBufferPointer { table in
            var slot = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
            while true {
                let s = table[slot]
                if s.id < 0 { return (-1, 0) }
                if s.key == key { return (s.id, s.weight) }
                slot = (slot + 1) & mask
            }
        }
    }

    func id(of key: UInt64) -> Int32 { lookup(key).id }

    /// Adds `key` if missing and returns its id.
    mutating func insert(_ key: UInt64) -> Int32 {
        var slot = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
        while slots[slot].id >= 0 {
            if slots[slot].key == key { return slots[slot].id }
            slot = (slot + 1) & mask
        }
        precondition(count < mask, "FeatureIndex is full")
        slots[slot] = Slot(key: key, id: Int32(count), weight: 0)
        count += 1
        return Int32(count - 1)
    }

    /// Stores each feature's weight next to its id.
    mutating func setWeights(_ weights: [Float]) {
        for i in slots.indices where slots[i].id >= 0 { slots[i].weight = weights[Int(slots[i].id)] }
    }
}
