import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time and process memory, for the figures `kefu eval` and the benchmark print.
public enum Measure {
    /// Monotonic nanoseconds.
    @inline(__always)
    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The process's peak resident memory in MiB (Linux reports `ru_maxrss` in KiB).
    public static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// The value at quantile `q` (0…1) of `sorted`, by the nearest-rank method.
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
