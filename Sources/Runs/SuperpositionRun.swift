import Foundation
import NN
import Report
import Superposition
import Torch

/// `glassbox superposition`: Elhage et al.'s (2022) toy models regenerated; superposition.json holds
/// the numbers and superposition.html the figures beside the published results.
public enum SuperpositionRun {
    public struct Record: Codable, Sendable {
        public var features: Int, hidden: Int, steps: Int, batchSize: Int, seed: UInt64
        public var sweep: [ToyModelSummary]
        public var seconds: Double
        public var machine: String
    }

    public static func run(_ sweep: SparsitySweep, seed: UInt64, out: String) throws -> Record {
        try OutputFolder.prepare(out)
        let started = Date()
        let summaries = try sweep.run(seed: seed)
        let record = Record(features: sweep.features, hidden: sweep.hidden, steps: sweep.steps, batchSize: sweep.batchSize, seed: seed,
                            sweep: summaries, seconds: Date().timeIntervalSince(started), machine: MachineDescription.current.summary)
        try JSONFile.write(record, to: "\(out)/superposition.json")
        try page(record).write(to: "\(out)/superposition.html")
        return record
    }

    /// The published claims about the sweep, each checked on ours.
    public static func checks(_ record: Record) -> [(claim: String, ours: String, met: Bool)] {
        let linear = record.sweep.filter { !$0.reluOutput }, relu = record.sweep.filter(\.reluOutput)
        let linearShares = linear.map(\.inSuperposition).max() ?? 0
        let linearKept = linear.map(\.represented)
        let reluShared = relu.map(\.inSuperposition)
        return [
            ("Linear model: the \(record.hidden) most important features get orthogonal dimensions, the rest are dropped, at every sparsity",
             "represented \(linearKept.map(String.init).joined(separator: ", ")); at most \(linearShares) in superposition",
             linearShares == 0 && linearKept.allSatisfy { $0 <= record.hidden }),
            ("ReLU output, dense features (S = 0): no superposition, like the linear model",
             "\(reluShared.first ?? 0) features in superposition", (reluShared.first ?? 1) == 0),
            ("ReLU output: superposition appears and grows as sparsity rises",
             "features in superposition: \(reluShared.map(String.init).joined(separator: ", "))",
             (reluShared.last ?? 0) > record.hidden && (reluShared.last ?? 0) >= (reluShared.dropFirst().first ?? 0)),
        ]
    }

    static func page(_ record: Record) -> HTMLPage {
        var page = HTMLPage(title: "Toy models of superposition")
        page.paragraph("Elhage et al. (2022): \(record.features) features, importance 0.7ⁱ, squeezed into \(record.hidden) dimensions, x̂ = ReLU(WᵀWx + b) or x̂ = WᵀWx + b; each feature present with probability 1 − S, then uniform on [0, 1]. \(record.sweep.count) models trained at once, \(record.steps) steps of \(record.batchSize), seed \(record.seed), \(String(format: "%.1f", record.seconds)) s on \(record.machine).")
        page.heading("Published results beside ours")
        page.table(header: ["published (qualitative)", "ours", ""], rows: checks(record).map { [$0.claim, $0.ours, $0.met ? "met" : "differs"] })
        for relu in [false, true] {
            page.heading(relu ? "ReLU output: x̂ = ReLU(WᵀWx + b)" : "Linear model: x̂ = WᵀWx + b")
            page.paragraph("Top: WᵀW (blue negative, red positive) and b (last column). Bottom: ‖Wᵢ‖ per feature, black when the feature has its own dimension, yellow when others share it (Σⱼ≠ᵢ (Ŵᵢ·Wⱼ)² ≥ 1).")
            let models = record.sweep.filter { $0.reluOutput == relu }
            let figures = models.map { model -> String in
                let matrix = MatrixChart(title: String(format: "1 − S = %g", 1 - model.sparsity),
                                         rows: zip(model.gram, model.bias).map { $0 + [Double.nan, $1] }, scale: 1).svg()
                var bars = BarChart(title: String(format: "loss %.4f", model.loss), labels: [], values: model.norms)
                (bars.width, bars.rowHeight) = (190, 9)
                bars.colors = model.superposition.map { superpositionColor($0) }
                return "<div style=\"display:inline-block;vertical-align:top;margin:4px\">\(matrix)<br>\(bars.svg())</div>"
            }
            page.html("<div>\(figures.joined())</div>")
            page.table(header: ["1 − S", "loss", "features represented", "in superposition", "dimensions used (Σ Dᵢ)"], rows: models.map { model in
                [String(format: "%g", 1 - model.sparsity), String(format: "%.5f", model.loss), "\(model.represented)", "\(model.inSuperposition)",
                 String(format: "%.2f", model.dimensionality.reduce(0, +))]
            })
        }
        return page
    }

    /// Black (0) to yellow (≥ 1), the paper's colouring of superposition.
    static func superpositionColor(_ value: Double) -> String {
        let t = Swift.min(Swift.max(value, 0), 1)
        return String(format: "rgb(%d,%d,0)", Int(t * 230), Int(t * 200))
    }
}
