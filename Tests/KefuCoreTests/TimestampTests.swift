import Foundation
import Testing
@testable import KefuCore

@Suite("Timestamps")
struct TimestampTests {
    @Test("the hand-written ISO 8601 formatter agrees with Foundation's and round-trips", arguments: [
        0.0, 1.5, 951_782_400.123, 1_709_164_800.999, 1_798_761_599.5, -86_400.25, 4_102_444_800.0, 1_800_000_000.042,
    ])
    func agreesWithFoundation(seconds: Double) throws {
        let date = Date(timeIntervalSince1970: seconds)
        let reference = ISO8601DateFormatter()
        reference.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        #expect(Timestamp.format(date) == reference.string(from: date))
        let parsed = try #require(Timestamp.parse(Timestamp.format(date)))
        #expect(abs(parsed.timeIntervalSince1970 - (seconds * 1000).rounded(.down) / 1000) < 0.0005)
    }

    @Test("JSON quoting escapes quotes, backslashes and control characters and leaves Chinese as is")
    func quoting() {
        #expect(JSONText.quoted("退款") == "\"退款\"")
        #expect(JSONText.quoted("a\"b\\c\nd\u{01}") == "\"a\\\"b\\\\c\\nd\\u0001\"")
    }
}
