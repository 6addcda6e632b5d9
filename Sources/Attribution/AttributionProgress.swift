/// Where attribution methods say how far their batched model calls have got, for a caller that
/// shows progress (the command line's bar). Task-local: code that sets nothing pays nothing.
public enum AttributionProgress {
    /// Called after each chunk of model evaluations with (rows done, rows in this loop).
    @TaskLocal public static var report: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil

    static func advance(_ done: Int, of total: Int) {
        report?(done, total)
    }

    /// Runs an inner loop without reports, when an outer loop reports for it.
    static func quietly<R>(_ body: () throws -> R) rethrows -> R {
        try $report.withValue(nil, operation: body)
    }
}
