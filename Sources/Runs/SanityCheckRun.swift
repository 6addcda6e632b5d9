import ExplanationCore
import Attribution
import Datasets
import Evaluation
import Foundation
import NN
import Report
import Torch

/// Randomisation sanity checks (Adebayo et al. 2018, "Sanity Checks for Saliency Maps") of
/// attribution methods on a native model, with the report page.
public struct SanityCheckRun {
    public var methods: [String]
    /// Hook point for Grad-CAM (nil: the catalog's default layer).
    public var layer: String?
    public var seed: UInt64 = 0
    /// Training data and epochs for the data randomisation test (a copy trained on permuted labels); nil skips it.
    public var labelRandomization: (train: LabelledImages, epochs: Int)?
    public var out: String

    /// Each method's similarity to the original maps after each cascading step (spearman, …).
    public private(set) var cascading: [(method: String, steps: [ModelRandomization.Step])] = []
    /// With label randomisation: the copy's accuracy on its permuted training labels, and each
    /// method's mean |Spearman| between its maps of the two models.
    public private(set) var permutedLabelFit: Double?
    public private(set) var labelSimilarity: [(method: String, spearmanAbs: Double)] = []

    public init(methods: [String], layer: String?, seed: UInt64, out: String) {
        (self.methods, self.layer, self.seed, self.out) = (methods, layer, seed, out)
    }

    func method(_ name: String, _ model: Explainable, _ featureShape: [Int]) throws -> AttributionMethod {
        var settings = MethodSettings(seed: seed)
        if MethodCatalog.entries.first(where: { $0.name == name })?.options.contains(.layer) == true { settings.layer = layer }
        return try MethodCatalog.method(named: name, model: model, featureShape: featureShape, settings: settings)
    }

    /// Runs the checks on `inputs` and writes sanity-check.html to `out`.
    public mutating func run(_ model: Explainable, inputs x: Tensor) throws {
        guard model.module != nil else { throw TorchError("sanity checks re-initialise layers, so they need a native Glassbox model; this one is TorchScript") }
        for name in methods where !MethodCatalog.scorableNames.contains(name) {
            throw TorchError("unknown method '\(name)'; use \(MethodCatalog.scorableNames.joined(separator: ", "))")
        }
        let featureShape = Array(x.shape.dropFirst())
        var cascading: [(String, [ModelRandomization.Step])] = []
        var independent: [(String, [ModelRandomization.Step])] = []
        for (index, name) in methods.enumerated() {
            let method = try self.method(name, model, featureShape)
            cascading.append((name, try ProgressObserver.quietly { try ModelRandomization(.cascading, seed: seed).run(method, inputs: x, target: .predicted) }))
            ProgressObserver.report("sanity checks", done: 2 * index + 1, of: 2 * methods.count, unit: "runs", status: "\(name) cascading")
            independent.append((name, try ProgressObserver.quietly { try ModelRandomization(.independent, seed: seed).run(method, inputs: x, target: .predicted) }))
            ProgressObserver.report("sanity checks", done: 2 * index + 2, of: 2 * methods.count, unit: "runs", status: "\(name) independent")
        }
        let edges = [("Sobel", try EdgeDetector.sobel(x)), ("Canny", try EdgeDetector.canny(x))]
        var labelSection: String?
        if let (train, epochs) = labelRandomization {
            labelSection = try labelRandomizationSection(original: model, train: train, epochs: epochs, x: x)
        }
        try writeReport(images: x, cascading: cascading, independent: independent, edges: edges, labelSection: labelSection)
        self.cascading = cascading.map { (method: $0.0, steps: $0.1) }
    }

    /// Trains the architecture on permuted labels, then compares each method's maps with the trained model's.
    mutating func labelRandomizationSection(original: Explainable, train: LabelledImages, epochs: Int, x: Tensor) throws -> String {
        let names = methods, featureShape = Array(x.shape.dropFirst())
        let permuted = try train.labels.indexSelect(dim: 0, index: Tensor.randperm(train.count, generator: Generator(seed: seed &+ 99)))
        let model = try Architectures.mnistCNN(generator: Generator(seed: seed &+ 1))
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 1e-3))
        trainer.seed = seed
        ProgressObserver.note("training on permuted labels for \(epochs) epochs (data randomisation test)")
        let history = try trainer.fit(inputs: train.images, targets: permuted, epochs: epochs)
        model.eval()
        let fit = try noGrad { try model(train.images).argmax(dim: 1).eq(permuted).to(.float64).mean().item() }
        permutedLabelFit = fit
        var rows: [(String, String)] = [("training accuracy on the permuted labels", String(format: "%.1f%% (last epoch with dropout: %.1f%%)", 100 * fit, 100 * (history.last?.accuracy ?? 0)))]
        var grid = AttributionGrid(images: try Tensor.cat(Array(repeating: x.slice(dim: 0, start: 0, end: 1), count: names.count)), rowLabels: names)
        var trainedMaps: [Tensor] = [], randomMaps: [Tensor] = []
        for name in names {
            let trained = try method(name, original, featureShape)
            let targets = try noGrad { try original(x).argmax(dim: 1) }.scalars(as: Int64.self).map { Int($0) }
            let a = try trained.attribute(x, target: .indices(targets)).values
            let b = try method(name, model, featureShape).attribute(x, target: .indices(targets)).values
            let similarity = try ModelRandomization.similarities(a, b)
            labelSimilarity.append((name, try similarity["spearman-abs"]!.mean().item()))
            rows.append((name, String(format: "Spearman %.3f, |Spearman| %.3f, SSIM %.3f", try similarity["spearman"]!.mean().item(),
                                      try similarity["spearman-abs"]!.mean().item(), try similarity["ssim"]?.mean().item() ?? .nan)))
            trainedMaps.append(try a.slice(dim: 0, start: 0, end: 1))
            randomMaps.append(try b.slice(dim: 0, start: 0, end: 1))
            ProgressObserver.note("  label randomisation \(name): " + rows.last!.1)
        }
        grid.columns = [.init(title: "trained on true labels", values: try Tensor.cat(trainedMaps), sign: .absoluteValue),
                        .init(title: "trained on permuted labels", values: try Tensor.cat(randomMaps), sign: .absoluteValue)]
        var page = HTMLPage(title: "")
        page.keyValues(rows)
        page.html(try grid.write(to: out, imageFolder: "sanity-check-labels"))
        return page.bodyHTML
    }

    func writeReport(images: Tensor, cascading: [(String, [ModelRandomization.Step])], independent: [(String, [ModelRandomization.Step])],
                     edges: [(String, Tensor)], labelSection: String?) throws {
        var page = HTMLPage(title: "Sanity checks: do the explanations depend on the model?")
        page.paragraph("Adebayo et al. (2018): re-initialise the model's weights layer by layer and recompute the explanations. Maps that stay the same when the model is destroyed do not explain the model. Expected, and reported whatever comes out: gradient-based maps decorrelate as layers are randomised; Guided Backprop tends to stay similar.")
        let layers = cascading.first?.1.last?.randomizedLayers ?? []
        page.heading("Cascading randomisation (first digit)")
        var grid = AttributionGrid(images: try Tensor.cat(Array(repeating: images.slice(dim: 0, start: 0, end: 1), count: cascading.count)),
                                   rowLabels: cascading.map(\.0))
        for (column, step) in (cascading.first?.1 ?? []).enumerated() {
            let maps = try Tensor.cat(cascading.map { try $0.1[column].maps.slice(dim: 0, start: 0, end: 1) })
            grid.columns.append(.init(title: column == 0 ? "trained" : "up to layer \(step.randomizedLayers.last!)", values: maps, sign: .absoluteValue))
        }
        page.html(try grid.write(to: out, imageFolder: "sanity-check"))
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]
        for (title, runs) in [("Cascading", cascading), ("Independent", independent)] {
            page.heading("\(title) randomisation: similarity to the original maps")
            page.paragraph("x axis: step 1 is the trained model; then layers \(layers.joined(separator: ", ")) (output first) are randomised \(title == "Cascading" ? "cumulatively" : "one at a time"). Mean over \(images.shape[0]) digits.")
            for measure in ["spearman", "spearman-abs", "ssim", "hog", "pearson"] {
                let series = try runs.enumerated().map { index, run in
                    LineChart.Series(name: run.0, values: try run.1.map { try $0.similarity[measure]?.mean().item() ?? .nan },
                                     color: colors[index % colors.count])
                }
                page.html(LineChart(title: measure, xLabel: "randomisation step", series: series).svg())
            }
        }
        page.heading("Edge detector baseline")
        page.paragraph("Similarity between each method's maps on the trained model and edge detectors applied to the input (Sobel magnitude, Canny edges), which ignore the model entirely. High similarity is a warning sign.")
        var rows: [(String, String)] = []
        for (name, steps) in cascading {
            let parts = try edges.map { detector, edge -> String in
                let similarity = try ModelRandomization.similarities(edge, steps[0].maps.sum(dims: [1], keepDims: true))
                return String(format: "%@: |Spearman| %.3f, SSIM %.3f", detector, try similarity["spearman-abs"]!.mean().item(),
                              try similarity["ssim"]?.mean().item() ?? .nan)
            }
            rows.append((name, parts.joined(separator: "; ")))
        }
        page.keyValues(rows)
        var edgeGrid = AttributionGrid(images: images, rowLabels: (0..<images.shape[0]).map { "digit \($0 + 1)" })
        edgeGrid.columns = edges.map { .init(title: $0.0, values: $0.1, sign: .absoluteValue) }
        page.html(try edgeGrid.write(to: out, imageFolder: "sanity-check-edges"))
        page.heading("Data randomisation: a model trained on permuted labels")
        if let labelSection {
            page.paragraph("The same architecture trained on the training digits with their labels shuffled: it can only memorise. Explanations of a model that learnt nothing about digits should look different; the paper finds gradient maps change a lot while Guided Backprop still outlines the digit.")
            page.html(labelSection)
        } else {
            page.paragraph("Not run: pass --label-randomization (it trains a second model, a few minutes on 2 cores).")
        }
        try page.write(to: "\(out)/sanity-check.html")
    }
}
