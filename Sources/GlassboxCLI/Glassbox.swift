import ArgumentParser
import Foundation
import Runs
import Torch

@main
struct Glassbox: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glassbox",
        abstract: "Explain, check and build interpretable neural networks.",
        discussion: paragraphs("""
        Start with `glassbox demo`: it trains a small CNN on the bundled MNIST digits and writes a report.
        Every command takes --seed (same seed, same numbers on the same machine) and --threads.
        """),
        version: "0.1.0 (libtorch \(Torch.version); idle OpenMP threads wait \(Torch.openMPWaitPolicy); OpenBLAS kernels \(Torch.blasCore); Winograd \(ConvolutionPlan.winogradDescription))",
        subcommands: [Demo.self, Train.self, Evaluate.self, Predict.self, Attribute.self, Score.self, MergeScores.self, SanityCheck.self, SENNCommand.self, TextCommand.self, AttentionCommand.self, SuperpositionCommand.self, SoLUCommand.self, GeometryCommand.self, AttackCommand.self, AdversarialTrain.self, VisualizeCommand.self, InvertCommand.self, DreamCommand.self, DeepImagePriorCommand.self, ActivationsCommand.self, SAECommand.self, LanguageModelCommand.self, TransparentCommand.self, ExplainByExample.self, Reproduce.self, Bench.self]
    )
}

/// Options every command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Seed for every random choice (initialisation, shuffling, dropout, augmentation).")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Intra-op threads for libtorch (default: all cores; at most four per core).")
    var threads: Int?

    func validate() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if let threads, !(1...(4 * cores)).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(4 * cores) (four per core on this \(cores)-core machine), got \(threads)")
        }
    }

    /// Applies threads and the global seed; call first in `run()`.
    func apply() throws {
        // Line-buffered output, so progress lines reach a pipe or log file as they happen.
        setvbuf(stdout, nil, _IOLBF, 0)
        try Torch.setThreads(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        Torch.manualSeed(seed)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Runs a library check during flag validation, so its error is reported as a usage error (with the usage line).
func asUsageError(_ check: () throws -> Void) throws {
    do { try check() } catch let error as TorchError { throw ValidationError(error.message) }
}

/// Turns a bad --normalize value into a usage error before anything runs.
func validateNormalization(_ text: String?) throws {
    guard let text else { return }
    try asUsageError { _ = try InputNormalization(parsing: text) }
}
