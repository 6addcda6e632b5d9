import ExplanationCore
import Attribution
import Datasets
import Evaluation
import Foundation
import NN
import Report
import Torch

/// The demo's attribution page: every input-space method on the same test digits, with scores.
public enum AttributionPage {
    /// Titles and heat-map signs of the catalog's methods on this page (unsigned maps for methods
    /// whose values are magnitudes).
    static let presentation: [String: (title: String, sign: Heatmap.Sign)] = [
        "saliency": ("Saliency", .absoluteValue), "input-x-gradient": ("Gradient × Input", .all),
        "integrated-gradients": ("Integrated Gradients", .all), "smoothgrad": ("SmoothGrad", .absoluteValue),
        "smoothgrad-sq": ("SmoothGrad²", .absoluteValue), "vargrad": ("VarGrad", .absoluteValue),
        "guided-backprop": ("Guided Backprop", .all), "deconvolution": ("DeconvNet", .all),
        "grad-cam": ("Grad-CAM (last convolution)", .positive), "guided-grad-cam": ("Guided Grad-CAM", .all),
        "occlusion": ("Occlusion 4×4", .all), "feature-ablation": ("Feature ablation (4×4 patches)", .all),
        "shapley-value-sampling": ("Shapley sampling (4×4)", .all), "kernel-shap": ("KernelSHAP (4×4)", .all), "lime": ("LIME (4×4)", .all),
    ]

    /// Every method of the catalog that explains the output in input space, with its defaults.
    static func methods(_ model: Module, seed: UInt64) throws -> [(title: String, sign: Heatmap.Sign, method: AttributionMethod)] {
        try MethodCatalog.entries.filter(\.isScorable).map { entry in
            let shown = presentation[entry.name] ?? (entry.name, .all)
            return (shown.title, shown.sign, try MethodCatalog.method(named: entry.name, model: model, featureShape: MNIST.imageShape,
                                                                     settings: MethodSettings(seed: seed)))
        }
    }

    /// An HTML table of mean scores, the best per metric in bold.
    public static func scoreTable(_ cells: [ScoreTable.Cell], methods: [String], metrics: [String]) -> String {
        func higherIsBetter(_ metric: String) -> Bool { cells.first { $0.metric == metric }?.higherIsBetter ?? true }
        var html = ["<div style=\"overflow-x: auto\"><table><tr><th>method</th>"]
        html += metrics.map { "<th>\($0) \(higherIsBetter($0) ? "↑" : "↓")</th>" }
        html.append("</tr>")
        for method in methods {
            html.append("<tr><th style=\"text-align:left\">\(method)</th>")
            for metric in metrics {
                let column = cells.filter { $0.metric == metric }
                guard let cell = column.first(where: { $0.method == method }) else { html.append("<td>-</td>"); continue }
                let best = higherIsBetter(metric) ? column.map(\.mean).max() : column.map(\.mean).min()
                let text = String(format: "%.3g", cell.mean)
                html.append(cell.mean == best ? "<td><b>\(text)</b></td>" : "<td>\(text)</td>")
            }
            html.append("</tr>")
        }
        html.append("</table></div>")
        return html.joined()
    }

    /// Writes attribution.html and its images; returns the seconds it took per method.
    @discardableResult
    public static func write(model: Module, test: LabelledImages, out: String, seed: UInt64, count: Int = 8) throws -> [(String, Double)] {
        let x = try test.images.slice(dim: 0, start: 0, end: count)
        let labels = try test.labels.slice(dim: 0, start: 0, end: count).scalars(as: Int64.self).map { Int($0) }
        let predicted = try noGrad { try model(x).argmax(dim: 1) }.scalars(as: Int64.self).map { Int($0) }
        var grid = AttributionGrid(images: x, rowLabels: zip(labels, predicted).map { "label \($0), predicted \($1)" })
        var timings: [(String, Double)] = []
        let all = try methods(model, seed: seed)
        let target = Target.indices(predicted)
        let metrics: [ExplanationMetric] = [
            FaithfulnessCorrelation(runs: 50, subsetSize: 32, seed: seed), Infidelity(seed: seed),
            Sensitivity(.max, samples: 3, seed: seed), DeletionInsertion(.deletion), DeletionInsertion(.insertion),
            Sparseness(), Complexity(),
        ]
        var scores: [ScoreTable.Cell] = []
        for (index, (title, sign, method)) in all.enumerated() {
            let started = Date()
            let values = try ProgressObserver.quietly { try method.attribute(x, target: target).values }
            timings.append((title, Date().timeIntervalSince(started)))
            grid.columns.append(.init(title: title, values: values, sign: sign))
            for metric in metrics {
                let value = try ProgressObserver.quietly { try metric.score(method, inputs: x, target: target, attributions: values) }.to(.float64).scalars(as: Double.self)
                scores.append(.init(method: title, metric: metric.name, higherIsBetter: metric.higherIsBetter, values: value, seconds: 0))
            }
            ProgressObserver.report("attribution methods", done: index + 1, of: all.count, unit: "methods", status: title)
        }
        var page = HTMLPage(title: "Glassbox demo: why did the CNN predict that?")
        page.paragraph("Each column explains the model's predicted class for the same \(count) test digits with one attribution method, drawn over the digit. Signed maps: green supports the prediction, red speaks against it; unsigned maps: darker is more relevant. Colours follow Captum's visualize_image_attr (2% outlier clipping).")
        page.html(try grid.write(to: out, imageFolder: "attribution"))
        page.heading("Scores of these maps")
        page.paragraph("Mean over the \(count) digits; ↑ higher is better, ↓ lower is better; the best value in each column is bold. Faithfulness correlation (Bhatt et al. 2020): do attributions predict the output drop when random 32-pixel subsets are removed? Infidelity and max-sensitivity (Yeh et al. 2019): error under small perturbations, and how much the map moves when the input moves by ±0.02. Deletion/insertion (Petsiuk et al. 2018): area under the class probability as pixels are removed from the digit, or added to a blurred copy, most relevant first. Sparseness (Gini) and complexity (entropy): how concentrated the map is.")
        page.html(scoreTable(scores, methods: all.map(\.0), metrics: metrics.map(\.name)))
        page.heading("Cost")
        page.keyValues(timings.map { ($0.0, String(format: "%.2f s for %d digits", $0.1, count)) })
        page.paragraph("Sanity checks (does the map change when the model's weights are randomised?) are in `glassbox sanity-check`.")
        try page.write(to: (out as NSString).appendingPathComponent("attribution.html"))
        return timings
    }
}
