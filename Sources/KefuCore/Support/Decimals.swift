import Foundation

/// A score with two decimals ("0.82", "-40.00"), by integer arithmetic: rules are worded for
/// every message, and `String(Float)` was most of the router's time.
func twoDecimals(_ v: Float) -> String {
    guard v.isFinite else { return String(v) }
    let cents = Int((v * 100).rounded())
    let whole = abs(cents) / 100, fraction = abs(cents) % 100
    return (cents < 0 ? "-" : "") + String(whole) + (fraction < 10 ? ".0" : ".") + String(fraction)
}
