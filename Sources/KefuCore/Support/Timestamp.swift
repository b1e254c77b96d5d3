import Foundation

extension JSONEncoder.DateEncodingStrategy {
    /// ISO 8601 with milliseconds: ticket times order events that happen within one second.
    static let iso8601WithFractions = JSONEncoder.DateEncodingStrategy.custom { date, encoder in
        var c = encoder.singleValueContainer()
        try c.encode(Timestamp.format(date))
    }
}

extension JSONDecoder.DateDecodingStrategy {
    static let iso8601WithFractions = JSONDecoder.DateDecodingStrategy.custom { decoder in
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 time: \(text)")
        }
        return date
    }
}

/// ISO 8601 times with milliseconds, UTC (`2026-11-23T08:01:02.345Z`).
///
/// Written by hand: ICU's formatter cost several microseconds per event, on the path of
/// every message the gateway logs. Parsing stays with Foundation (reading is offline).
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        let millisTotal = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var days = millisTotal >= 0 ? millisTotal / 86_400_000 : (millisTotal - 86_399_999) / 86_400_000
        let millisOfDay = millisTotal - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        // Written into one fixed-size string: this runs for every logged event.
        return String(unsafeUninitializedCapacity: 24) { out in
            var at = 0
            func digits(_ value: Int64, _ count: Int) {
                var v = value
                for i in stride(from: at + count - 1, through: at, by: -1) { out[i] = UInt8(0x30 + v % 10); v /= 10 }
                at += count
            }
            func mark(_ byte: UInt8) { out[at] = byte; at += 1 }
            digits(year, 4); mark(0x2D); digits(month, 2); mark(0x2D); digits(day, 2); mark(0x54)
            digits(millisOfDay / 3_600_000, 2); mark(0x3A); digits(millisOfDay / 60_000 % 60, 2); mark(0x3A)
            digits(millisOfDay / 1000 % 60, 2); mark(0x2E); digits(millisOfDay % 1000, 3); mark(0x5A)
            return at
        }
    }

    nonisolated(unsafe) private static let parser: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
    private static let lock = NSLock()

    public static func parse(_ text: String) -> Date? {
        lock.withLock { parser.date(from: text) ?? ISO8601DateFormatter().date(from: text) }
    }
}
