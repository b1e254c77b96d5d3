import Foundation

/// Events the committer could not write, from the first failure to the last: kept until the
/// log takes writes again, then written as one `unrecorded` record.
struct UnrecordedGap {
    private(set) var count = 0
    private(set) var from: Date?
    private(set) var until: Date?
    /// The operator is told on stderr once a minute, not once per batch.
    private var complaints = OncePerMinute()

    mutating func add(_ events: Int, at time: Date) {
        count += events
        from = from ?? time
        until = time
    }

    /// Whether to tell the operator now; true at most once a minute.
    mutating func shouldComplain(at time: Date) -> Bool { complaints.allows(at: time) }

    /// The gap's record, for writing ahead of the next batch (none while there is no gap).
    func records() -> [Data] {
        guard count > 0, let from, let until else { return [] }
        return [EventLog.gapRecord(count: count, from: from, until: until)]
    }

    var description: String {
        guard let from, let until else { return "no events lost" }
        return "\(count) events could not be recorded between \(Timestamp.format(from)) and \(Timestamp.format(until))"
    }
}
