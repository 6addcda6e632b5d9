import Adversarial
import ExplanationCore
import Foundation
import Report
import Torch

/// attack.html: accuracy-vs-ε curves per norm, the numbers behind them, and each attack's
/// examples (input, adversarial input, perturbation).
enum AttackPage {
    /// One attack's examples: the first `count` inputs, their adversarial versions and predictions.
    struct Examples {
        var method: String
        var epsilon: Double?
        var mosaic: Tensor
        var captions: [String]

        init(method: String, epsilon: Double?, inputs: Tensor, adversarial: Tensor, labels: Tensor, cleanPredictions: Tensor, model: Explainable, count: Int) throws {
            let n = min(count, inputs.shape[0])
            let x = try inputs[0..<n], a = try adversarial[0..<n]
            let before = try cleanPredictions[0..<n].scalars(as: Int64.self)
            let after = try noGrad { try model(a).argmax(dim: 1) }.scalars(as: Int64.self)
            let truth = try labels[0..<n].scalars(as: Int64.self)
            func colour(_ t: Tensor) throws -> Tensor { t.shape[1] == 3 ? t : try t.expanded(to: [n, 3] + Array(t.shape.dropFirst(2))) }
            let offset = try (a - x).to(.float32)
            // The perturbation drawn blue (−) to red (+), summed over colour channels, on its own scale.
            let perturbation = try DivergingMap.colors(offset.sum(dims: [1]))
            (self.method, self.epsilon) = (method, epsilon)
            mosaic = try Tensor.stack([colour(x.to(.float32)), colour(a.to(.float32)), perturbation], dim: 0)
            captions = (0..<n).map { "label \(truth[$0]): \(before[$0]) → \(after[$0])" }
        }
    }

    static func write(_ record: AttackStudy.Record, examples: [Examples], gradientMaps: [Tensor]?, inputs: Tensor, count: Int, to out: String) throws {
        var page = HTMLPage(title: "Adversarial examples: \(record.model)")
        page.paragraph("\(record.targeted ? "Targeted attacks (target: label + 1 mod classes)" : "Untargeted attacks") on \(record.inputs) inputs; labels from \(record.labelsFrom). Accuracy under attack is the share of inputs still classified as their label; a minimum-norm attack (cw) runs once and counts, at each ε, the inputs it moved across the boundary within ε in L2. Seed \(record.seed); \(record.machine).")
        var facts = [("clean accuracy", String(format: "%.2f%%", 100 * record.cleanAccuracy))]
        if let name = record.transferModel, let clean = record.transferCleanAccuracy {
            facts.append(("transfer model", name))
            facts.append(("its clean accuracy", String(format: "%.2f%%", 100 * clean)))
        }
        page.keyValues(facts)
        for norm in ProjectedGradientDescent.Norm.allCases {
            let curves = record.curves.filter { $0.norm == norm.rawValue }
            guard let first = curves.first else { continue }
            page.heading("Accuracy against ε (\(norm == .lInfinity ? "L∞" : "L2"))")
            let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
            var series = curves.enumerated().map { LineChart.Series(name: $0.element.method, values: $0.element.points.map(\.accuracy), color: colours[$0.offset % colours.count]) }
            for (index, curve) in curves.enumerated() where curve.points.contains(where: { $0.transferAccuracy != nil }) {
                series.append(.init(name: "\(curve.method) → \(record.transferModel ?? "transfer")", values: curve.points.map { $0.transferAccuracy ?? .nan },
                                    color: colours[(index + 2) % colours.count]))
            }
            var chart = LineChart(title: "accuracy under attack", xLabel: "ε (\(norm == .lInfinity ? "L∞" : "L2"))", series: series)
            chart.xTicks = first.points.map { String(format: "%g", $0.epsilon) }
            page.html(chart.svg())
            page.table(header: ["attack", "ε", "accuracy", "goal met", "mean L∞", "mean L2", "transfer accuracy"], rows: curves.flatMap { curve in
                curve.points.map { p in
                    [curve.method, String(format: "%g", p.epsilon), String(format: "%.2f%%", 100 * p.accuracy), String(format: "%.2f%%", 100 * p.goalMet),
                     String(format: "%.3f", p.meanLInfinity), String(format: "%.3f", p.meanL2), p.transferAccuracy.map { String(format: "%.2f%%", 100 * $0) } ?? "-"]
                }
            })
        }
        page.heading("Examples")
        page.paragraph("Rows: the input, the adversarial input, and the perturbation (blue negative, red positive, on each attack's own scale). Captions: label: prediction before → after.")
        try FileManager.default.createDirectory(atPath: "\(out)/images", withIntermediateDirectories: true)
        for example in examples {
            let name = "images/\(example.method).png"
            try PNG.write(ImageMosaic.render(example.mosaic, scale: 2), to: "\(out)/\(name)")
            page.image(name, caption: "\(example.method)\(example.epsilon.map { String(format: " at ε %g", $0) } ?? ""): " + example.captions.joined(separator: " · "))
        }
        if let comparison = record.gradients, let gradientMaps {
            page.heading("Input gradients of the two models")
            page.paragraph("Saliency |∂ logit of the label / ∂ input| of \(record.model) and \(record.transferModel ?? "the transfer model") on all \(comparison.inputs) inputs, scored with the evaluation module's metrics (means). Adversarially trained models are reported to have sparser gradients that look like the digit (Tsipras et al. 2019): higher sparseness, lower complexity, higher correlation with the input.")
            page.table(header: ["model", "Gini sparseness ↑", "entropy complexity ↓", "correlation with the input ↑"], rows: comparison.scores.map {
                [$0.model, String(format: "%.3f", $0.sparseness), String(format: "%.3f", $0.complexity), String(format: "%.3f", $0.correlationWithInput)]
            })
            let n = min(count, inputs.shape[0])
            // Rows: the inputs, then each model's map scaled to its own largest value per input.
            let rows = try [inputs[0..<n].to(.float32)] + gradientMaps.map { map in
                let m = try map[0..<n].sum(dims: [1], keepDims: true).abs()
                return try m / m.flattened(from: 1).max(dims: [1]).clamp(min: 1e-12).reshaped([-1, 1, 1, 1])
            }
            try PNG.write(ImageMosaic.render(Tensor.stack(rows, dim: 0), scale: 2), to: "\(out)/images/gradients.png")
            page.image("images/gradients.png", caption: "rows: input, \(comparison.scores.map(\.model).joined(separator: ", ")) (white: largest |gradient| of each map)")
        }
        try page.write(to: "\(out)/attack.html")
    }
}
