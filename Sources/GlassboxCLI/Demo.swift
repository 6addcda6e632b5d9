import ArgumentParser
import Foundation
import Runs
import Torch

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A five-minute tour on the bundled data: a CNN, its attributions and their scores, a sanity check and a self-explaining network.",
        discussion: "Writes model.safetensors, metrics.json, index.html (linking every page), loss.svg, predictions.png, attribution.html (every attribution method on 8 test digits, with scores), sanity-check.html (model randomisation) and senn.html (a self-explaining network: explanations, prototypes, stability; senn/ holds the models, reusable with --model) to --out. The papers' full studies are `glassbox reproduce`."
    )

    @Option(help: "Output folder.") var out = "runs/demo"
    @Flag(help: "Leave out the SENN part (about 90 seconds on 2 cores).") var skipSenn = false
    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let summary = try showingProgress {
            try Tour.run(source: data.source, training: training.options, out: out, seed: common.seed, includeSENN: !skipSenn)
        }
        summary.forEach { print($0) }
        print("report: \((out as NSString).appendingPathComponent("index.html"))")
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the MNIST CNN; checkpoints every epoch and can resume.",
        discussion: "Writes checkpoint.safetensors (every epoch), model.safetensors and metrics.json to --out."
    )

    @Option(help: "Output folder.") var out = "runs/train"
    @Flag(help: "Continue from --out/checkpoint.safetensors if it exists.") var resume = false
    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let (_, metrics, _) = try showingProgress {
            try MNISTRun.train(source: data.source, options: training.options, seed: common.seed, out: out, resume: resume)
        }
        print(String(format: "test accuracy %.2f%%, model written to %@", 100 * metrics.testAccuracy,
                     (out as NSString).appendingPathComponent("model.safetensors")))
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a trained model's accuracy, loss and confusion matrix on MNIST's test split."
    )

    @Option(help: "A Glassbox model.safetensors or a TorchScript file.") var model: String
    @Option(help: "Write evaluation.json here too.") var out: String?
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let (evaluation, description, classNames) = try ClassifierEvaluation.testSplit(of: ModelFile.load(model), mnist: data.source)
        print("data: \(description)")
        print(String(format: "accuracy %.2f%%  loss %.4f", 100 * evaluation.accuracy, evaluation.loss))
        evaluation.confusionLines(classNames: classNames).forEach { print($0) }
        if let out {
            try JSONFile.write(EvaluationRecord(data: description, evaluation: evaluation), to: (out as NSString).appendingPathComponent("evaluation.json"))
        }
    }
}
