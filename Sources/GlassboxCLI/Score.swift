import ArgumentParser
import ExplanationCore
import Attribution
import Datasets
import Evaluation
import Foundation
import NN
import Report
import Torch

/// Attribution methods with default settings, by `glassbox attribute` name.
func defaultMethod(_ name: String, model: Explainable, featureShape: [Int], layer: String?, seed: UInt64) throws -> AttributionMethod {
    let isImage = featureShape.count == 3
    let patches = isImage ? try DemoAttribution.patchMask(size: featureShape[1], width: featureShape[2], patch: max(1, featureShape[1] / 7))
        .expanded(to: featureShape).contiguous() : nil
    func needLayer() throws -> String {
        guard let layer else { throw TorchError("\(name) needs --layer (a hook point)") }
        return layer
    }
    switch name {
    case "saliency": return Saliency(model)
    case "input-x-gradient": return InputXGradient(model)
    case "integrated-gradients": return IntegratedGradients(model)
    case "smoothgrad": return NoiseTunnel(Saliency(model, absoluteValue: false), kind: .smoothGrad, samples: 50, seed: seed)
    case "smoothgrad-sq": return NoiseTunnel(Saliency(model, absoluteValue: false), kind: .smoothGradSquared, samples: 50, seed: seed)
    case "vargrad": return NoiseTunnel(Saliency(model, absoluteValue: false), kind: .varGrad, samples: 50, seed: seed)
    case "guided-backprop": return GuidedBackprop(model)
    case "deconvolution": return Deconvolution(model)
    case "grad-cam": return LayerGradCAM(model, hookPoint: try needLayer())
    case "guided-grad-cam": return GuidedGradCAM(model, hookPoint: try needLayer())
    case "occlusion":
        let window = isImage ? [featureShape[0], min(4, featureShape[1]), min(4, featureShape[2])] : featureShape.map { _ in 1 }
        return Occlusion(model, window: window, strides: window.map { max(1, $0 / 2) })
    case "feature-ablation": return FeatureAblation(model, featureMask: patches)
    case "shapley-value-sampling": return ShapleyValueSampling(model, featureMask: patches, samples: 25, seed: seed)
    case "kernel-shap": return KernelSHAP(model, featureMask: patches, samples: 200, seed: seed)
    case "lime": return LIME(model, featureMask: patches, samples: 200, seed: seed)
    default:
        throw TorchError("'\(name)' cannot be scored: score takes input-space methods (\(scorableMethods.joined(separator: ", ")))")
    }
}

let scorableMethods = ["saliency", "input-x-gradient", "integrated-gradients", "smoothgrad", "smoothgrad-sq", "vargrad",
                       "guided-backprop", "deconvolution", "grad-cam", "guided-grad-cam", "occlusion", "feature-ablation",
                       "shapley-value-sampling", "kernel-shap", "lime"]

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score attribution methods with explanation metrics: a table of method × metric.",
        discussion: """
        Metrics: \(MetricCatalog.names.joined(separator: ", ")).
        Each cell is the mean (± standard deviation) over the examples; ↑/↓ says which way is better.
        Writes scores.json (per-example values) and scores.html (the table) to --out. Without --input, scores the first --limit digits of the MNIST test split.
        """
    )

    @Option(help: "A Glassbox model.safetensors or a TorchScript file.") var model: String
    @Option(name: .customLong("input"), parsing: .upToNextOption, help: "Input files (.png, .npy, .safetensors).") var inputs: [String] = []
    @OptionGroup var data: DataOptions
    @Option(help: "Examples from the test split when no --input is given.") var limit = 16
    @Option(help: "Score only part k of n (k from 1) of the examples; join shards with `glassbox merge-scores`.") var shard: String?
    @Option(help: "Comma-separated methods.") var methods = "saliency,integrated-gradients,smoothgrad,guided-backprop,occlusion"
    @Option(help: "Comma-separated metrics (default: all but input-invariance, which needs an unpadded first layer).") var metrics = MetricCatalog.defaultNames.joined(separator: ",")
    @Option(help: "Hook point for grad-cam and guided-grad-cam.") var layer: String?
    @Option(help: "Class to explain: a number or 'predicted'.") var target = "predicted"
    @Option(help: "Output folder.") var out = "runs/score"
    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        for name in methods.split(separator: ",").map(String.init) where !scorableMethods.contains(name) {
            throw ValidationError("unknown or unscorable method '\(name)'; use \(scorableMethods.joined(separator: ", "))")
        }
        for name in metrics.split(separator: ",").map(String.init) where !MetricCatalog.names.contains(name) {
            throw ValidationError("unknown metric '\(name)'; use \(MetricCatalog.names.joined(separator: ", "))")
        }
        if target != "predicted", Int(target) == nil { throw ValidationError("--target must be a class number or 'predicted'") }
        if let shard { _ = try Self.parseShard(shard) }
        try InputNormalization.validate(normalize)
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        var batch: Tensor
        if inputs.isEmpty {
            let test = try data.load().test
            batch = try test.images.slice(dim: 0, start: 0, end: min(limit, test.count))
        } else {
            batch = try Tensor.cat(inputs.map { try loaded.inputs(from: $0).batch })
        }
        if let normalize { batch = try InputNormalization(parsing: normalize)(batch) }
        var firstExample = 0
        if let shard {
            let (k, n) = try Self.parseShard(shard)
            let total = batch.shape[0]
            firstExample = (k - 1) * total / n
            let end = k * total / n
            guard end > firstExample else { throw TorchError("shard \(shard) of \(total) examples is empty") }
            batch = try batch.slice(dim: 0, start: firstExample, end: end)
        }
        let featureShape = Array(batch.shape.dropFirst())
        let chosenTarget: Target = target == "predicted" ? .predicted : .index(Int(target)!)
        let layer = self.layer ?? (loaded.inputShape == MNIST.imageShape ? "3" : nil)
        let methodList = try methods.split(separator: ",").map { name in
            (String(name), try defaultMethod(String(name), model: loaded.model, featureShape: featureShape, layer: layer, seed: common.seed))
        }
        if let native = methodList.first(where: { ["guided-backprop", "deconvolution", "grad-cam", "guided-grad-cam"].contains($0.0) }),
           loaded.model.module == nil {
            throw TorchError("\(native.0) needs a native Glassbox model; \(model) is TorchScript")
        }
        let metricList = try metrics.split(separator: ",").map {
            try MetricCatalog.metric(named: String($0), seed: common.seed, featureCount: featureShape.reduce(1, *))
        }
        let progress = NN.Progress("scoring", total: methodList.count * metricList.count, unit: "cells")
        var table = try ScoreTable(methods: methodList, metrics: metricList, inputs: batch, target: chosenTarget) { progress.advance(status: $0) }
        table.firstExample = firstExample
        print("\(table.examples) examples\(shard.map { " (shard \($0), from example \(firstExample))" } ?? ""), target \(target)\n")
        try Self.write(table, title: "Explanation scores for \((model as NSString).lastPathComponent)", to: out)
    }

    /// Prints the table and writes scores.json and scores.html to `out`.
    static func write(_ table: ScoreTable, title: String, to out: String) throws {
        print(table.text())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(table), to: "\(out)/scores.json")
        try writeReport(table, title: title, to: "\(out)/scores.html")
        print("\nwrote \(out)/scores.json and \(out)/scores.html")
    }

    /// The table as a page: means with the best per metric in bold.
    static func writeReport(_ table: ScoreTable, title: String, to path: String) throws {
        var page = HTMLPage(title: title)
        page.paragraph("Mean over \(table.examples) examples; ↑ higher is better, ↓ lower is better; the best value per metric is bold. Per-example values are in scores.json.")
        page.html(DemoAttribution.scoreTable(table.cells, methods: table.methods, metrics: table.metrics))
        try page.write(to: path)
    }

    /// "k/n" with 1 ≤ k ≤ n.
    static func parseShard(_ text: String) throws -> (Int, Int) {
        let parts = text.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else {
            throw ValidationError("--shard takes k/n with 1 ≤ k ≤ n, e.g. 2/4; got '\(text)'")
        }
        return (parts[0], parts[1])
    }
}

struct MergeScores: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-scores",
        abstract: "Join the scores.json files of `glassbox score --shard` runs into one table."
    )

    @Argument(help: "scores.json files from the shards.") var files: [String]
    @Option(help: "Output folder for the merged scores.json.") var out = "runs/score"
    /// Accepted like every command's, though merging draws nothing random.
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give the shards' scores.json files") }
    }

    func run() throws {
        let tables = try files.map { path -> ScoreTable in
            guard let data = FileManager.default.contents(atPath: path) else { throw TorchError("cannot read \(path)") }
            do { return try JSONDecoder().decode(ScoreTable.self, from: data) } catch {
                throw TorchError("\(path) is not a glassbox scores.json: \(error.localizedDescription)")
            }
        }
        let merged = try ScoreTable.merge(tables)
        print("\(merged.examples) examples from \(files.count) shards\n")
        try Score.write(merged, title: "Explanation scores (\(files.count) shards merged)", to: out)
    }
}
