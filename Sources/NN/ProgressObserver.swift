/// How far a long piece of work has got: `done` of `total` units of the loop named `label`.
public struct ProgressReport: Sendable, Equatable {
    /// What is running ("epoch 3/15", "perturbations", "λ sweep").
    public let label: String
    public let done: Int
    public let total: Int
    /// The unit of `done` and `total` ("batches", "rows", "epochs").
    public let unit: String
    /// A short note on the latest unit (the running loss, the λ being trained), or "".
    public let status: String

    public init(label: String, done: Int, total: Int, unit: String, status: String = "") {
        (self.label, self.done, self.total, self.unit, self.status) = (label, done, total, unit, status)
    }
}

/// The one way libraries report on long work: loops send `ProgressReport`s, and runs send notes
/// (a line of results: an epoch's accuracy, a λ's scores) to the observer bound to the calling
/// task; front ends bind one and draw bars or print lines. Code that binds none pays nothing
/// and prints nothing.
///
/// A class holds the callback because a task-local optional closure crashed in
/// `swift_task_localValuePush` when built with -O (Swift 6.3).
public final class ProgressObserver: Sendable {
    let receive: @Sendable (ProgressReport) -> Void
    let receiveNote: @Sendable (String) -> Void

    public init(_ receive: @escaping @Sendable (ProgressReport) -> Void, notes: @escaping @Sendable (String) -> Void = { _ in }) {
        self.receive = receive
        self.receiveNote = notes
    }

    /// The observer of the code running now, if any.
    @TaskLocal public static var current: ProgressObserver? = nil

    /// Runs `body` with this observer receiving its reports.
    public func observing<R>(_ body: () throws -> R) rethrows -> R {
        try Self.$current.withValue(self, operation: body)
    }

    /// Sends a report to this observer.
    public func report(_ label: String, done: Int, of total: Int, unit: String, status: String = "") {
        receive(ProgressReport(label: label, done: done, total: total, unit: unit, status: status))
    }

    /// Sends a report to the current observer, if any.
    public static func report(_ label: String, done: Int, of total: Int, unit: String, status: String = "") {
        current?.report(label, done: done, of: total, unit: unit, status: status)
    }

    /// Sends a line of results to this observer.
    public func note(_ line: String) {
        receiveNote(line)
    }

    /// Sends a line of results to the current observer, if any.
    public static func note(_ line: String) {
        current?.note(line)
    }

    /// Runs an inner loop without reports, when an outer loop reports for it.
    public static func quietly<R>(_ body: () throws -> R) rethrows -> R {
        try $current.withValue(nil, operation: body)
    }
}
