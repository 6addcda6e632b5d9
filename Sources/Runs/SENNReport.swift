import ExplanationCore
import Concepts
import Datasets
import Foundation
import Report
import Torch

/// The HTML sections SENN commands and the demo share.
public enum SENNReport {
    /// One row per example: the input (image or top features), then θ for the predicted class and h(x) as bar charts.
    /// `output` is the model's explanation of `inputs` when the caller has it already.
    public static func explanations(_ file: SENNFile, inputs: Tensor, output given: SENN.Output? = nil, names: [String], folder: String,
                             imageFolder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: (folder as NSString).appendingPathComponent(imageFolder), withIntermediateDirectories: true)
        let output = try given ?? noGrad { try file.model.explain(inputs) }
        let predicted = try output.logits.argmax(dim: 1).scalars(as: Int64.self).map(Int.init)
        let probabilities = try output.logits.softmax(dim: 1).to(.float64)
        var html = ["<table class=\"senn\">"]
        for (row, name) in names.enumerated() {
            let c = predicted[row]
            let relevance = try output.relevances[row].select(dim: 1, index: c).to(.float64).scalars(as: Double.self)
            let activation = try output.concepts[row].to(.float64).scalars(as: Double.self)
            let confidence = try probabilities[row][c].item()
            let title = "\(name): predicted \(file.classNames[c]) (p = \(String(format: "%.2f", confidence)))"
            var input = ""
            var shown = Array(0..<file.model.concepts)
            if file.dataset == .mnist {
                let path = "\(imageFolder)/input-\(row).png"
                try PNG.write(Image(tensor: inputs[row]), to: (folder as NSString).appendingPathComponent(path))
                input = "<img src=\"\(path)\" width=\"84\">"
            } else {
                // Tabular: the ten features with the largest |θ·x| contributions.
                shown = Array(shown.sorted { abs(relevance[$0] * activation[$0]) > abs(relevance[$1] * activation[$1]) }.prefix(10))
            }
            let labels = shown.map { file.conceptNames[$0] }
            let relevanceChart = BarChart(title: "relevance θ for class \(file.classNames[c])", labels: labels,
                                          values: shown.map { relevance[$0] }).svg()
            let activationChart = BarChart(title: file.dataset == .mnist ? "concept activation h(x)" : "feature value (standardised)",
                                           labels: labels, values: shown.map { activation[$0] }).svg()
            html.append("<tr><td colspan=\"3\" style=\"text-align:left\"><b>\(escapeHTML(title))</b></td></tr>")
            html.append("<tr><td>\(input)</td><td>\(relevanceChart)</td><td>\(activationChart)</td></tr>")
        }
        html.append("</table>")
        return html.joined(separator: "\n")
    }

    /// Mosaics of the training examples that activate each concept most, and examples across its range.
    public static func prototypes(_ senn: SENN, images: Tensor, count: Int, folder: String, imageFolder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: (folder as NSString).appendingPathComponent(imageFolder), withIntermediateDirectories: true)
        var activations: [Tensor] = []
        try noGrad {
            for start in stride(from: 0, to: images.shape[0], by: 500) {
                activations.append(try senn.conceptizer(images.slice(dim: 0, start: start, end: min(images.shape[0], start + 500))))
            }
        }
        let all = try Tensor.cat(activations)
        var html: [String] = []
        for (title, indices) in [("strongest", try ConceptPrototypes.strongest(all, count: count)),
                                 ("across-levels", try ConceptPrototypes.acrossLevels(all, count: count))] {
            let flat = try Tensor(indices.flatMap { $0.map(Int64.init) })
            let tiles = try images.indexSelect(dim: 0, index: flat).reshaped([senn.concepts, count] + Array(images.shape.dropFirst()))
            let path = "\(imageFolder)/prototypes-\(title).png"
            try PNG.write(ImageMosaic.render(tiles), to: (folder as NSString).appendingPathComponent(path))
            let caption = title == "strongest"
                ? "Rows: concepts 1–\(senn.concepts). The \(count) training digits with the highest activation of each concept."
                : "Rows: concepts 1–\(senn.concepts). Training digits at evenly spaced ranks of each concept's activation, lowest on the left."
            html.append("<figure><img src=\"\(path)\" alt=\"\(caption)\"><figcaption>\(caption)</figcaption></figure>")
        }
        return html.joined(separator: "\n")
    }

    public static func stabilityTable(_ rows: [StabilityRow], settings: StabilitySettings) -> String {
        var html = ["<table><tr><th style=\"text-align:left\">explanation</th><th>model</th><th>median local Lipschitz</th><th>median relative (÷ ‖e(x)‖)</th></tr>"]
        for row in rows {
            html.append(String(format: "<tr><td style=\"text-align:left\">%@</td><td>%@</td><td>%.4g</td><td>%.4g</td></tr>",
                               escapeHTML(row.method), row.model, row.medianLipschitz, row.medianRelativeLipschitz))
        }
        html.append("</table>")
        html.append(String(format: "<p>Sampling estimate: %d points uniformly in the L∞ ball of radius %g around each of %d test inputs, max ‖e(x) − e(x′)‖ / ‖x − x′‖, predicted class. Lower is more stable.</p>",
                           settings.samples, settings.radius, settings.examples))
        return html.joined(separator: "\n")
    }

    public static func sweepCharts(_ rows: [SweepRow]) -> String {
        let ticks = rows.map { $0.robustness == 0 ? "0" : String(format: "%g", $0.robustness) }
        var accuracy = LineChart(title: "Test accuracy against λ", xLabel: "λ (robustness weight)",
                                 series: [.init(name: "SENN test accuracy", values: rows.map(\.testAccuracy), color: "#1f77b4")])
        accuracy.xTicks = ticks
        // log₁₀, since the estimate spans orders of magnitude once θ flattens; zero is left out.
        var lipschitz = LineChart(title: "log₁₀ of the median local Lipschitz estimate of θ(x) against λ", xLabel: "λ (robustness weight)",
                                  series: [.init(name: "gradient ascent", values: rows.map { Foundation.log10($0.medianLipschitz) },
                                                 color: "#d62728"),
                                           .init(name: "authors' protocol", values: rows.map { Foundation.log10($0.medianBoxLipschitz) },
                                                 color: "#9467bd")])
        lipschitz.xTicks = ticks
        var table = ["<table><tr><th>λ</th><th>validation accuracy</th><th>validation Lipschitz (ascent)</th><th>test accuracy</th><th>median Lipschitz (ascent)</th><th>median Lipschitz (authors' protocol)</th><th>faithfulness (θ)</th><th>faithfulness (θ·h)</th><th>training</th></tr>"]
        for (row, tick) in zip(rows, ticks) {
            let validation = row.validationAccuracy.map { String(format: "%.2f%%", 100 * $0) } ?? "— (refit)"
            let validationLipschitz = row.validationMedianLipschitz.map { String(format: "%.4g", $0) } ?? "—"
            table.append(String(format: "<tr><td>%@</td><td>%@</td><td>%@</td><td>%.2f%%</td><td>%.4g</td><td>%.4g</td><td>%.3f</td><td>%.3f</td><td>%.0f s</td></tr>", tick,
                                validation, validationLipschitz, 100 * row.testAccuracy, row.medianLipschitz, row.medianBoxLipschitz, row.meanFaithfulness, row.meanContributionFaithfulness,
                                row.trainSeconds))
        }
        table.append("</table>")
        return accuracy.svg() + "\n" + lipschitz.svg() + "\n" + table.joined(separator: "\n")
    }

    /// The sections every SENN model page shows: explanations, prototypes, stability against the CNN.
    static func appendModelSections(to page: inout HTMLPage, explanationsHeading: String, explanations: String, prototypes: String,
                                    comparison: [StabilityRow], settings: StabilitySettings) {
        page.heading(explanationsHeading)
        page.html(explanations)
        page.heading("What the concepts mean: prototypes")
        page.html(prototypes)
        page.heading("Stability against post-hoc explanations of the CNN")
        page.html(stabilityTable(comparison, settings: settings))
    }
}
