/// Where attribution methods say how far their batched model calls have got, for a caller that
/// shows progress (the command line's bar). Task-local: code that sets nothing pays nothing.
///
/// A class holds the callback because a task-local optional closure crashed in
/// `swift_task_localValuePush` when built with -O (Swift 6.3).
public final class AttributionProgress: Sendable {
    /// Called after each chunk of model evaluations with (rows done, rows in this loop).
    let report: @Sendable (_ done: Int, _ total: Int) -> Void

    public init(_ report: @escaping @Sendable (_ done: Int, _ total: Int) -> Void) {
        self.report = report
    }

    /// The reporter for the code running now, if any.
    @TaskLocal public static var current: AttributionProgress? = nil

    package static func advance(_ done: Int, of total: Int) {
        current?.report(done, total)
    }

    /// Runs an inner loop without reports, when an outer loop reports for it.
    package static func quietly<R>(_ body: () throws -> R) rethrows -> R {
        try $current.withValue(nil, operation: body)
    }
}
