import Evaluation
import Foundation
import Report
import Torch

/// What `score` writes: the table as text, scores.json (per-example values) and scores.html.
public enum ScoreReport {
    /// Writes scores.json and scores.html to `out`.
    public static func write(_ table: ScoreTable, title: String, to out: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(table), to: "\(out)/scores.json")
        var page = HTMLPage(title: title)
        page.paragraph("Mean over \(table.examples) examples; ↑ higher is better, ↓ lower is better; the best value per metric is bold. Per-example values are in scores.json.")
        page.html(AttributionPage.scoreTable(table.cells, methods: table.methods, metrics: table.metrics))
        try page.write(to: "\(out)/scores.html")
    }

    /// Reads the scores.json files of shards.
    public static func read(_ paths: [String]) throws -> [ScoreTable] {
        try paths.map { path in
            guard let data = FileManager.default.contents(atPath: path) else { throw TorchError("cannot read \(path)") }
            do { return try JSONDecoder().decode(ScoreTable.self, from: data) } catch {
                throw TorchError("\(path) is not a glassbox scores.json: \(error.localizedDescription)")
            }
        }
    }

    /// Part k of n (k from 1) of `count` examples, as a range; "k/n" is what `--shard` takes.
    public static func shard(_ text: String, of count: Int) throws -> Range<Int> {
        let parts = text.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else {
            throw TorchError("--shard takes k/n with 1 ≤ k ≤ n, e.g. 2/4; got '\(text)'")
        }
        let (k, n) = (parts[0], parts[1])
        return (k - 1) * count / n ..< k * count / n
    }
}
