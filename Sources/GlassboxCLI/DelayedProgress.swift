import Foundation
import NN

/// A progress bar for work that may or may not be long (an attribution call): it appears only
/// once a loop has run for a second, so quick runs stay silent, and starts afresh when a new
/// loop reports a different total.
final class DelayedProgress: @unchecked Sendable {
    let label: String, unit: String
    let lock = NSLock()
    var bar: NN.Progress?
    var total = 0
    var loopStarted = Date()

    init(_ label: String, unit: String) {
        self.label = label
        self.unit = unit
    }

    /// The callback for an `AttributionProgress`.
    var report: @Sendable (Int, Int) -> Void { { [self] done, total in update(done: done, total: total) } }

    func update(done: Int, total: Int) {
        lock.lock()
        defer { lock.unlock() }
        if total != self.total || done < (bar?.completed ?? 0) {
            (bar, self.total, loopStarted) = (nil, total, Date())
        }
        if bar == nil {
            guard Date().timeIntervalSince(loopStarted) > 1 else { return }
            bar = NN.Progress(label, total: total, unit: unit, start: loopStarted)
        }
        bar!.advance(by: done - bar!.completed)
    }
}
