import ArgumentParser
import Concepts
import Foundation
import NN
import Torch

struct SENNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "senn",
        abstract: "Self-explaining neural networks (Alvarez-Melis & Jaakkola 2018): train, explain, prototypes, stability.",
        subcommands: [SENNTrain.self]
    )
}

struct SENNTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a SENN with classification + λ·robustness + ξ·reconstruction + ζ·sparsity.",
        discussion: "Writes model.safetensors (weights with concept and class names), checkpoint.safetensors and metrics.json to --out."
    )

    @Option(help: "Output folder.") var out = "runs/senn"
    @OptionGroup var training: SENNTrainingOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let dataset = try SENNData.load(training.dataset, mnist: data)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        print("training a SENN on \(dataset.description): λ \(training.robustness), ξ \(training.reconstruction), ζ \(training.sparsity), \(training.epochCount) epochs")
        let (model, metrics) = try SENNRun.train(training, data: dataset, seed: common.seed, out: out)
        try SENNFile.save(model, dataset: training.dataset, data: dataset, to: (out as NSString).appendingPathComponent("model.safetensors"))
        try MNISTRun.writeJSON(metrics, to: (out as NSString).appendingPathComponent("metrics.json"))
        print(String(format: "test accuracy %.2f%%, model written to %@", 100 * metrics.testAccuracy,
                     (out as NSString).appendingPathComponent("model.safetensors")))
    }
}
