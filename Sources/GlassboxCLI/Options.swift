import ArgumentParser
import Concepts
import Runs
import Torch

struct DataOptions: ParsableArguments {
    @Option(help: "Folder with the full MNIST IDX files (train-images-idx3-ubyte[.gz], …), or 'mnist' for the bundled 5,000-digit subset (the default).")
    var data: String?

    var source: MNISTSource { MNISTSource(folder: data) }
}

/// The CNN's training flags; defaults are `CNNTrainingOptions`'.
struct TrainingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Training epochs (1 to 10,000).") var epochs = CNNTrainingOptions().epochs
    @Option(parsing: .unconditional, help: "Mini-batch size (1 to 1,000,000).") var batchSize = CNNTrainingOptions().batchSize
    @Option(parsing: .unconditional, help: "Adam learning rate.") var learningRate = CNNTrainingOptions().learningRate
    @Option(parsing: .unconditional, help: "Learning-rate factor applied after each epoch.") var learningRateDecay = CNNTrainingOptions().learningRateDecay
    @Option(parsing: .unconditional, help: "Random shift augmentation, in pixels (0 turns it off).") var shift = CNNTrainingOptions().shift

    var options: CNNTrainingOptions {
        var options = CNNTrainingOptions()
        (options.epochs, options.batchSize, options.learningRate, options.learningRateDecay, options.shift) =
            (epochs, batchSize, learningRate, learningRateDecay, shift)
        return options
    }

    func validate() throws {
        try asUsageError(options.validate)
    }
}

/// SENN's training flags; defaults are `SENNTrainingOptions`' (some per dataset).
struct SENNTrainingFlags: ParsableArguments {
    @Option(help: "mnist (learnt concepts) or breast-cancer (the 30 features are the concepts).") var dataset: SENNDataset = .mnist
    @Option(parsing: .unconditional, help: "Concepts learnt from MNIST images (the features are the concepts for tabular data).") var concepts = 5
    @Flag(help: "Keep learnt concepts ≥ 0 (softplus), so a relevance's sign alone says which way a concept pushes a class.") var nonnegativeConcepts = false
    @Option(parsing: .unconditional, help: "λ, weight of the robustness loss L_θ.") var robustness = 1e-2
    @Option(parsing: .unconditional, help: "ξ, weight of the concept autoencoder's reconstruction loss (MNIST).") var reconstruction = 1.0
    @Option(parsing: .unconditional, help: "ζ, weight of the concept sparsity penalty mean |h(x)|.") var sparsity = 1e-4
    @Option(help: "Robustness term: 'gradient' (the paper's L_θ = ‖∇f − θᵀJh‖) or 'jacobian' (‖Jz‖, z the relevances before θ's final tanh: their own sensitivity).")
    var robustnessPenalty: SENNObjective.RobustnessPenalty = .gradientConsistency
    @Flag(help: "Compute L_θ exactly (a backward pass per concept and class) instead of by a random class projection.") var exactRobustness = false
    @Option(parsing: .unconditional, help: "Examples of each batch L_θ is evaluated on (0: the whole batch).") var robustnessExamples = 16
    @Option(parsing: .unconditional, help: "Epochs over which λ ramps up linearly from 0 (0: full λ from the start).") var robustnessWarmup = 0
    @Option(parsing: .unconditional, help: "Training epochs (default: 8 for MNIST, 30 for breast-cancer).") var epochs: Int?
    @Option(parsing: .unconditional, help: "Mini-batch size (default: 128 for MNIST, 64 for breast-cancer).") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Adam learning rate (default: 4e-3 for MNIST, 2e-3 for breast-cancer).") var learningRate: Double?
    @Option(parsing: .unconditional, help: "Learning-rate factor applied after each epoch (default: 0.85 for MNIST, 0.97 for breast-cancer).") var learningRateDecay: Double?
    @Option(parsing: .unconditional, help: "Random shift augmentation for MNIST, in pixels (0 turns it off).") var shift = 2

    var options: SENNTrainingOptions {
        var o = SENNTrainingOptions(dataset: dataset)
        (o.concepts, o.nonnegativeConcepts, o.robustness, o.reconstruction, o.sparsity) = (concepts, nonnegativeConcepts, robustness, reconstruction, sparsity)
        (o.robustnessPenalty, o.exactRobustness, o.robustnessExamples, o.robustnessWarmup) = (robustnessPenalty, exactRobustness, robustnessExamples, robustnessWarmup)
        (o.epochs, o.batchSize, o.learningRate, o.learningRateDecay, o.shift) = (epochs, batchSize, learningRate, learningRateDecay, shift)
        return o
    }

    func validate() throws {
        try asUsageError(options.validate)
    }
}

extension SENNDataset: ExpressibleByArgument {}
extension SENNObjective.RobustnessPenalty: ExpressibleByArgument {}
