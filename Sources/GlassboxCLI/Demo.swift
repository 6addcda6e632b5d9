import ArgumentParser
import Foundation
import Runs
import Torch

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the demo CNN on the bundled MNIST digits and write a report.",
        discussion: "Writes model.safetensors, metrics.json, index.html, loss.svg, predictions.png, attribution.html (every attribution method on 8 test digits) and senn.html (self-explaining networks: λ sweep, explanations, prototypes, stability; senn/ holds the models) to --out."
    )

    @Option(help: "Output folder.") var out = "runs/demo"
    @Flag(help: "Leave out the SENN part (about 4 minutes on 2 cores).") var skipSenn = false
    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        let started = Date()
        try common.apply()
        let (model, metrics, test) = try showingProgress {
            try MNISTRun.train(source: data.source, options: training.options, seed: common.seed, out: out, resume: false)
        }
        try showingProgress { try AttributionPage.write(model: model, test: test, out: out, seed: common.seed) }
        let cnnSeconds = Date().timeIntervalSince(started)
        let sennPage = (out as NSString).appendingPathComponent("senn.html")
        if FileManager.default.fileExists(atPath: sennPage) { try FileManager.default.removeItem(atPath: sennPage) }
        let sennSummary = skipSenn ? [] : try showingProgress {
            try SENNDemo.write(cnn: model, cnnAccuracy: metrics.testAccuracy, data: data.source, out: out, seed: common.seed)
        }
        let total = Date().timeIntervalSince(started)
        try MNISTRun.writeReport(model: model, metrics: metrics, test: test, out: out, totalSeconds: total)
        print(String(format: "test accuracy %.2f%% (target ≥ 97%%): %@", 100 * metrics.testAccuracy,
                     metrics.testAccuracy >= 0.97 ? "met" : "NOT met"))
        print(String(format: "CNN part %.1f s (target < 180 s on 2 cores): %@", cnnSeconds, cnnSeconds < 180 ? "met" : "NOT met"))
        sennSummary.forEach { print($0) }
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
