import Foundation

/// One loop's progress on standard error: a bar with rate and ETA on a terminal, plain lines otherwise.
final class ProgressBar {
    let label: String
    let total: Int
    let unit: String
    let isTerminal: Bool
    let start: Date
    var lastPrint = Date.distantPast
    var lastPlainPercent = -1
    private(set) var completed = 0

    /// `start`: when the work began, if before now (for the rate and ETA).
    init(_ label: String, total: Int, unit: String = "it", start: Date = Date()) {
        self.start = start
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        isTerminal = isatty(fileno(stderr)) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// Marks `count` more units done; `status` is appended (for example the running loss).
    func advance(by count: Int = 1, status: String = "") {
        completed = min(completed + count, total)
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(completed) / elapsed : 0
        let remaining = rate > 0 ? Double(total - completed) / rate : 0
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

    func format(_ rate: Double) -> String { rate >= 100 ? String(format: "%.0f", rate) : String(format: "%.1f", rate) }

    func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
