import Foundation

/// One loop's progress on standard error: a bar with rate and ETA on a terminal, plain lines otherwise.
final class ProgressBar {
    let label: String
    let total: Int
    let unit: String
    let isTerminal: Bool
    let start: Date
    let doneAtStart: Int
    var lastPrint = Date.distantPast
    var lastPlainPercent = -1
    private(set) var completed = 0

    /// `start`: when the loop was first seen, with `doneAtStart` units already done then (a resumed
    /// run, a loop that reports every N units); the rate counts only the units done since.
    init(_ label: String, total: Int, unit: String = "it", start: Date = Date(), doneAtStart: Int = 0) {
        self.start = start
        self.doneAtStart = doneAtStart
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        isTerminal = isatty(fileno(stderr)) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// Marks `count` more units done; `status` is appended (for example the running loss).
    func advance(by count: Int = 1, status: String = "") {
        completed = min(completed + count, total)
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(completed - doneAtStart) / elapsed : 0
        let remaining = rate > 0 ? Double(total - completed) / rate : nil
        let done = completed == total
        if isTerminal {
            guard done || Date().timeIntervalSince(lastPrint) > 0.1 else { return }
            lastPrint = Date()
            let width = 28
            let filled = width * completed / total
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = "\r\(label) \(bar) \(completed)/\(total) \(format(rate)) \(unit)/s ETA \(duration(remaining)) \(status)"
            FileHandle.standardError.write(Data((line + "\u{1B}[K" + (done ? "\n" : "")).utf8))
        } else {
            // Plain lines every 10% (and at the end) keep CI logs short.
            let percent = 100 * completed / total
            guard done || percent / 10 > lastPlainPercent / 10 else { return }
            lastPlainPercent = percent
            let line = "\(label): \(completed)/\(total) (\(percent)%) \(format(rate)) \(unit)/s, ETA \(duration(remaining)) \(status)\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// "–" until units have been done since the start.
    func format(_ rate: Double) -> String {
        rate <= 0 ? "–" : rate >= 100 ? String(format: "%.0f", rate) : String(format: "%.1f", rate)
    }

    func duration(_ seconds: Double?) -> String {
        guard let seconds else { return "–" }
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
