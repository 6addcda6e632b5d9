import ArgumentParser
import ExplanationCore
import Attribution
import Datasets
import Evaluation
import Foundation
import NN
import Report
import Torch

struct SanityCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sanity-check",
        abstract: "Model-randomisation sanity checks (Adebayo et al. 2018) with a report page.",
        discussion: """
        Randomises the model's layers from the output down (cascading) and one at a time (independent), recomputes each
        method's maps for the same test digits, and writes sanity-check.html: the cascading grid (rows = methods, columns =
        layers randomised), similarity-versus-layer curves (Spearman, |Spearman|, SSIM, HOG, Pearson), and the Sobel and Canny
        edge detectors compared with every method. With --label-randomization it also trains a copy of the architecture on
        permuted training labels and compares its maps with the trained model's (data randomisation test).
        """
    )

    @Option(help: "A Glassbox model.safetensors (native: layers are re-initialised).") var model: String
    @Option(help: "Comma-separated methods.") var methods = "saliency,input-x-gradient,integrated-gradients,smoothgrad,guided-backprop,grad-cam"
    @Option(help: "Test digits to explain.") var limit = 4
    @Option(help: "Hook point for grad-cam.") var layer = "3"
    @Option(help: "Output folder.") var out = "runs/sanity-check"
    @Flag(help: "Also retrain on permuted labels and compare maps (takes a few minutes).") var labelRandomization = false
    @Option(help: "Epochs for the label-randomised model (it must memorise noise: 80 fit 96% of the bundled set's shuffled labels, 40 only 78%; the paper asks for >95%).") var labelEpochs = 80
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if !(1...64).contains(limit) { throw ValidationError("--limit must be between 1 and 64") }
        for name in methods.split(separator: ",").map(String.init) where !scorableMethods.contains(name) {
            throw ValidationError("unknown method '\(name)'; use \(scorableMethods.joined(separator: ", "))")
        }
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        guard loaded.model.module != nil else { throw TorchError("sanity checks re-initialise layers, so they need a native Glassbox model; \(model) is TorchScript") }
        let test = try data.load().test
        let x = try test.images.slice(dim: 0, start: 0, end: min(limit, test.count))
        let featureShape = Array(x.shape.dropFirst())
        let names = methods.split(separator: ",").map(String.init)
        let progress = NN.Progress("sanity checks", total: names.count * 2, unit: "runs")
        var cascading: [(String, [ModelRandomization.Step])] = []
        var independent: [(String, [ModelRandomization.Step])] = []
        for name in names {
            let method = try defaultMethod(name, model: loaded.model, featureShape: featureShape, layer: layer, seed: common.seed)
            cascading.append((name, try ModelRandomization(.cascading, seed: common.seed).run(method, inputs: x, target: .predicted)))
            progress.advance(status: "\(name) cascading")
            independent.append((name, try ModelRandomization(.independent, seed: common.seed).run(method, inputs: x, target: .predicted)))
            progress.advance(status: "\(name) independent")
        }
        let edges = [("Sobel", try EdgeDetector.sobel(x)), ("Canny", try EdgeDetector.canny(x))]
        var labelSection: String?
        if labelRandomization {
            labelSection = try labelRandomizationSection(original: loaded, names: names, x: x, featureShape: featureShape)
        }
        try writeReport(images: x, cascading: cascading, independent: independent, edges: edges, labelSection: labelSection)
        print("layers, output first: \(cascading.first.map { $0.1.last!.randomizedLayers.joined(separator: ", ") } ?? "")")
        print("mean Spearman rank correlation with the original maps as layers are randomised (cascading):")
        for (name, steps) in cascading {
            let values = try steps.map { try $0.similarity["spearman"]!.mean().item() }
            print("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) " + values.map { String(format: "%6.3f", $0) }.joined(separator: " "))
        }
        print("report: \(out)/sanity-check.html")
    }

    /// Trains the architecture on permuted labels, then compares each method's maps with the trained model's.
    func labelRandomizationSection(original: LoadedModel, names: [String], x: Tensor, featureShape: [Int]) throws -> String {
        let (train, _, _) = try data.load()
        let permuted = try train.labels.indexSelect(dim: 0, index: Tensor.randperm(train.count, generator: Generator(seed: common.seed &+ 99)))
        let model = try Architectures.mnistCNN(generator: Generator(seed: common.seed &+ 1))
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 1e-3))
        trainer.seed = common.seed
        print("training on permuted labels for \(labelEpochs) epochs (data randomisation test)")
        let history = try trainer.fit(inputs: train.images, targets: permuted, epochs: labelEpochs)
        model.eval()
        let fit = try noGrad { try model(train.images).argmax(dim: 1).eq(permuted).to(.float64).mean().item() }
        var rows: [(String, String)] = [("training accuracy on the permuted labels", String(format: "%.1f%% (last epoch with dropout: %.1f%%)", 100 * fit, 100 * (history.last?.accuracy ?? 0)))]
        var grid = AttributionGrid(images: try Tensor.cat(Array(repeating: x.slice(dim: 0, start: 0, end: 1), count: names.count)), rowLabels: names)
        var trainedMaps: [Tensor] = [], randomMaps: [Tensor] = []
        for name in names {
            let trained = try defaultMethod(name, model: original.model, featureShape: featureShape, layer: layer, seed: common.seed)
            let targets = try noGrad { try original(x).argmax(dim: 1) }.scalars(as: Int64.self).map { Int($0) }
            let a = try trained.attribute(x, target: .indices(targets)).values
            let b = try defaultMethod(name, model: model, featureShape: featureShape, layer: layer, seed: common.seed)
                .attribute(x, target: .indices(targets)).values
            let similarity = try ModelRandomization.similarities(a, b)
            rows.append((name, String(format: "Spearman %.3f, |Spearman| %.3f, SSIM %.3f", try similarity["spearman"]!.mean().item(),
                                      try similarity["spearman-abs"]!.mean().item(), try similarity["ssim"]?.mean().item() ?? .nan)))
            trainedMaps.append(try a.slice(dim: 0, start: 0, end: 1))
            randomMaps.append(try b.slice(dim: 0, start: 0, end: 1))
            print("  label randomisation \(name): " + rows.last!.1)
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
