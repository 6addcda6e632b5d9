import ArgumentParser
import ExplanationCore
import Attribution
import Evaluation
import Foundation
import Runs
import Torch

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score attribution methods with explanation metrics: a table of method × metric.",
        discussion: paragraphs("""
        Metrics: \(MetricCatalog.names.joined(separator: ", ")).
        Each cell is the mean (± standard deviation) over the examples; ↑/↓ says which way is better.
        Writes scores.json (per-example values) and scores.html (the table) to --out. Without --input, scores the first --limit digits of the MNIST test split.
        """)
    )

    @Option(help: "A Glassbox model.safetensors or a TorchScript file.") var model: String
    @Option(name: .customLong("input"), parsing: .upToNextOption, help: "Input files (.png, .npy, .safetensors).") var inputs: [String] = []
    @OptionGroup var data: DataOptions
    @Option(parsing: .unconditional, help: "Examples from the test split when no --input is given.") var limit = 16
    @Option(help: "Score only part k of n (k from 1) of the examples; join shards with `glassbox merge-scores`.") var shard: String?
    @Option(help: "Comma-separated methods.") var methods = "saliency,integrated-gradients,smoothgrad,guided-backprop,occlusion"
    @Option(help: "Comma-separated metrics (default: all but input-invariance, which needs an unpadded first layer).") var metrics = MetricCatalog.defaultNames.joined(separator: ",")
    @Option(help: ArgumentHelp(MethodOption.layer.help)) var layer: String?
    @Option(help: "Class to explain: a number or 'predicted'.") var target = "predicted"
    @Option(help: "Output folder.") var out = "runs/score"
    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @OptionGroup var common: CommonOptions

    var methodNames: [String] { methods.split(separator: ",").map(String.init) }

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        for name in methodNames where !MethodCatalog.scorableNames.contains(name) {
            throw ValidationError("unknown or unscorable method '\(name)'; use \(MethodCatalog.scorableNames.joined(separator: ", "))")
        }
        for name in metrics.split(separator: ",").map(String.init) where !MetricCatalog.names.contains(name) {
            throw ValidationError("unknown metric '\(name)'; use \(MetricCatalog.names.joined(separator: ", "))")
        }
        if target != "predicted", Int(target) == nil { throw ValidationError("--target must be a class number or 'predicted'") }
        if let shard { try asUsageError { _ = try ScoreReport.shard(shard, of: 1) } }
        try validateNormalization(normalize)
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        var batch = inputs.isEmpty ? try data.source.loadTest().test.images.slice(dim: 0, start: 0, end: limit)
            : try Tensor.cat(inputs.map { try loaded.inputs(from: $0).batch })
        if let normalize { batch = try InputNormalization(parsing: normalize)(batch) }
        let examples = try shard.map { try ScoreReport.shard($0, of: batch.shape[0]) } ?? 0..<batch.shape[0]
        guard !examples.isEmpty else { throw TorchError("shard \(shard ?? "") of \(batch.shape[0]) examples is empty") }
        batch = try batch.slice(dim: 0, start: examples.lowerBound, end: examples.upperBound)
        let featureShape = Array(batch.shape.dropFirst())
        var settings = MethodSettings(seed: common.seed)
        settings.layer = layer
        let methodList = try methodNames.map { name in
            var own = settings
            if try !MethodCatalog.entry(named: name).options.contains(.layer) { own.layer = nil }
            return (name, try MethodCatalog.method(named: name, model: loaded.model, featureShape: featureShape, settings: own))
        }
        let metricList = try metrics.split(separator: ",").map {
            try MetricCatalog.metric(named: String($0), seed: common.seed, featureCount: featureShape.reduce(1, *))
        }
        let chosenTarget: Target = target == "predicted" ? .predicted : .index(Int(target)!)
        var table = try showingProgress { try ScoreTable(methods: methodList, metrics: metricList, inputs: batch, target: chosenTarget) }
        table.firstExample = examples.lowerBound
        print("\(table.examples) examples\(shard.map { " (shard \($0), from example \(examples.lowerBound))" } ?? ""), target \(target)\n")
        print(table.text())
        try ScoreReport.write(table, title: "Explanation scores for \((model as NSString).lastPathComponent)", to: out)
        print("\nwrote \(out)/scores.json and \(out)/scores.html")
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
        let merged = try ScoreTable.merge(ScoreReport.read(files))
        print("\(merged.examples) examples from \(files.count) shards\n")
        print(merged.text())
        try ScoreReport.write(merged, title: "Explanation scores (\(files.count) shards merged)", to: out)
        print("\nwrote \(out)/scores.json and \(out)/scores.html")
    }
}
