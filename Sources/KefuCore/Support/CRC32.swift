import Foundation

/// CRC-32 (IEEE 802.3), to tell a whole journal record from a torn or damaged one.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        // Data's iterator costs a call per byte; a contiguous buffer is read directly.
        if let fast = bytes.withContiguousStorageIfAvailable({ checksum(buffer: UnsafeRawBufferPointer($0)) }) { return fast }
        if let data = bytes as? Data { return data.withUnsafeBytes { checksum(buffer: $0) } }
        var c: UInt32 = 0xFFFFFFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFFFFFF
    }

    static func checksum(buffer: UnsafeRawBufferPointer) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var c: UInt32 = 0xFFFFFFFF
            for b in buffer { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
            return c ^ 0xFFFFFFFF
        }
    }
}
