import Foundation
import NN

/// The command line's view of `ProgressObserver`: a bar (terminal) or plain lines (logs) per loop,
/// on standard error, and notes printed as lines on standard output. A bar appears once its loop
/// has run for `delay` seconds, so quick loops stay silent, and starts afresh when another loop reports.
final class ProgressDisplay: @unchecked Sendable {
    let delay: TimeInterval
    /// Shown before each loop's own label ("kernel-shap on cat.png").
    let prefix: String?
    let lock = NSLock()
    var bar: ProgressBar?
    var loop: (label: String, total: Int)?
    var loopStarted = Date(), doneAtLoopStart = 0

    init(delay: TimeInterval = 0, prefix: String? = nil) {
        self.delay = delay
        self.prefix = prefix
    }

    var observer: ProgressObserver {
        ProgressObserver({ [self] in update($0) }, notes: { [self] in print($0) })
    }

    func update(_ report: ProgressReport) {
        lock.lock()
        defer { lock.unlock() }
        if loop == nil || loop! != (report.label, report.total) || report.done < (bar?.completed ?? 0) {
            (bar, loop, loopStarted, doneAtLoopStart) = (nil, (report.label, report.total), Date(), report.done)
        }
        if bar == nil {
            guard Date().timeIntervalSince(loopStarted) >= delay else { return }
            let title = prefix.map { "\($0): \(report.label)" } ?? report.label
            bar = ProgressBar(title, total: report.total, unit: report.unit, start: loopStarted, doneAtStart: doneAtLoopStart)
        }
        bar!.advance(by: report.done - bar!.completed, status: report.status)
    }

    func print(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        Swift.print(line)
    }
}

/// Runs `body` with long work drawn as progress and the libraries' notes printed.
@discardableResult
func showingProgress<R>(delay: TimeInterval = 0, prefix: String? = nil, _ body: () throws -> R) rethrows -> R {
    try ProgressDisplay(delay: delay, prefix: prefix).observer.observing(body)
}
