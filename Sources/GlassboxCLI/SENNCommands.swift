import ArgumentParser
import Concepts
import Foundation
import Runs
import Torch

struct SENNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "senn",
        abstract: "Self-explaining neural networks (Alvarez-Melis & Jaakkola 2018): train, explain, prototypes, stability.",
        subcommands: [SENNTrain.self, SENNExplain.self, SENNPrototypes.self, SENNStability.self, SENNSweep.self]
    )
}

struct SENNTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a SENN with classification + λ·robustness + ξ·reconstruction + ζ·sparsity.",
        discussion: "Writes model.safetensors (weights with concept and class names), checkpoint.safetensors and metrics.json to --out."
    )

    @Option(help: "Output folder.") var out = "runs/senn"
    @Flag(help: "Continue from --out/checkpoint.safetensors if it exists (same settings).") var resume = false
    @Flag(help: "Train on all training examples (no validation split held out), e.g. once λ is chosen with `senn sweep`.") var allTrainingData = false
    @OptionGroup var flags: SENNTrainingFlags
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let training = flags.options
        try OutputFolder.prepare(out)
        let loaded = try SENNData.load(training.dataset, mnist: data.source)
        let dataset = allTrainingData ? try loaded.refitting() : loaded
        try OutputFolder.prepare(out)
        print("training a SENN on \(dataset.description): λ \(training.robustness), ξ \(training.reconstruction), ζ \(training.sparsity), \(training.epochCount) epochs")
        let (model, metrics) = try showingProgress { try SENNRun.train(training, data: dataset, seed: common.seed, out: out, resume: resume) }
        try SENNFile.save(model, dataset: training.dataset, data: dataset, nonnegativeConcepts: training.nonnegativeConcepts,
                          to: (out as NSString).appendingPathComponent("model.safetensors"))
        try JSONFile.write(metrics, to: (out as NSString).appendingPathComponent("metrics.json"))
        let validation = metrics.validationAccuracy.map { String(format: "validation accuracy %.2f%%, ", 100 * $0) } ?? ""
        print(String(format: "%@test accuracy %.2f%%, model written to %@", validation, 100 * metrics.testAccuracy,
                     (out as NSString).appendingPathComponent("model.safetensors")))
    }
}

/// Which inputs a SENN command explains: files, or the first test examples of the model's dataset.
struct SENNInputOptions: ParsableArguments {
    @Option(parsing: .upToNextOption, help: "Inputs (.png, .npy, .safetensors): MNIST images in [0, 1], or standardised feature rows for breast-cancer. Default: the first --examples test examples.")
    var input: [String] = []
    @Option(parsing: .unconditional, help: "How many test examples to use when no --input is given.") var examples = 4

    func validate() throws {
        guard (1...1000).contains(examples) else { throw ValidationError("--examples must be between 1 and 1000") }
    }
}

struct SENNExplain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain predictions by concept relevances θ(x) and activations h(x).",
        discussion: "Prints the relevances of the predicted class and writes explain.html (bar charts next to each input) and explanations.json to --out."
    )

    @Option(help: "A model.safetensors written by `glassbox senn train`.") var model: String
    @Option(help: "Output folder.") var out = "runs/senn-explain"
    @OptionGroup var inputs: SENNInputOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let file = try SENNFile.load(model)
        let (x, names) = try SENNData.examples(for: file, paths: inputs.input, count: inputs.examples, mnist: data.source)
        try SENNExplanationReport.write(file, inputs: x, names: names, out: out).forEach { print($0) }
        print("report: \((out as NSString).appendingPathComponent("explain.html"))")
    }
}

struct SENNPrototypes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prototypes",
        abstract: "Show what each learnt concept means: the training examples that activate it most, and examples across its range.",
        discussion: "Writes prototypes.html with two mosaics (rows = concepts) to --out. Needs a model with learnt concepts (MNIST); tabular SENNs use the features themselves as concepts."
    )

    @Option(help: "A model.safetensors written by `glassbox senn train`.") var model: String
    @Option(parsing: .unconditional, help: "Examples per concept.") var count = 8
    @Option(help: "Output folder.") var out = "runs/senn-prototypes"
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (2...32).contains(count) else { throw ValidationError("--count must be between 2 and 32") }
    }

    func run() throws {
        try common.apply()
        try SENNPrototypesPage.write(SENNFile.load(model), count: count, mnist: data.source, to: out)
        print("report: \((out as NSString).appendingPathComponent("prototypes.html"))")
    }
}

struct SENNStability: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stability",
        abstract: "Local Lipschitz stability and concept faithfulness of a SENN, optionally against post-hoc methods on a CNN.",
        discussion: paragraphs("""
        Reports the gradient-ascent Lipschitz estimate of θ(x) (the paper's), the estimate as the authors' released code computes it
        (random points in x ± 0.01·σ per feature), the sampling estimate for θ of the predicted class, and
        concept faithfulness (correlation of θ with the probability drop when a concept is removed). With --cnn MODEL, the same
        sampling estimate for saliency, integrated gradients, LIME and occlusion on that model. Writes stability.html and stability.json.
        """)
    )

    @Option(help: "A model.safetensors written by `glassbox senn train`.") var model: String
    @Option(help: "A CNN to compare with (a Glassbox model.safetensors or TorchScript file for the same inputs).") var cnn: String?
    @Option(parsing: .unconditional, help: "Test examples evaluated.") var examples = 50
    @Option(parsing: .unconditional, help: "Perturbed points per example.") var samples = 10
    @Option(parsing: .unconditional, help: "Gradient-ascent steps.") var steps = 10
    @Option(parsing: .unconditional, help: "L∞ radius of the neighbourhood.") var radius = 0.1
    @Option(help: "Output folder.") var out = "runs/senn-stability"
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...1000).contains(examples) else { throw ValidationError("--examples must be between 1 and 1000") }
        guard (1...100).contains(samples) else { throw ValidationError("--samples must be between 1 and 100") }
        guard (0...200).contains(steps) else { throw ValidationError("--steps must be between 0 and 200") }
        guard radius > 0, radius.isFinite else { throw ValidationError("--radius must be positive") }
    }

    func run() throws {
        try common.apply()
        let file = try SENNFile.load(model)
        let comparison = try cnn.map { try ModelFile.load($0) }
        if let comparison, let shape = comparison.inputShape, shape != file.inputShape {
            throw TorchError("--cnn expects inputs of shape \(shape), the SENN \(file.inputShape)")
        }
        let test = try SENNData.load(file.dataset, mnist: data.source)
        let x = try test.testInputs.slice(dim: 0, start: 0, end: min(examples, test.testLabels.count))
        let settings = StabilitySettings(examples: x.shape[0], samples: samples, steps: steps, radius: radius, seed: common.seed)
        let report = try showingProgress {
            try SENNStabilityReport(file.model, cnn: comparison?.model, inputs: x, training: test.trainInputs, settings: settings)
        }
        report.summary.forEach { print($0) }
        try report.write(to: out)
        print("report: \((out as NSString).appendingPathComponent("stability.html"))")
    }
}

struct SENNSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train one SENN per robustness weight λ and plot accuracy and stability against λ (the paper's Figure 4).",
        discussion: "Writes sweep.html and sweep.json to --out. Every other training setting is shared across λ. With --keep-models each λ's SENN is saved as --out/models/senn-lambda-λ.safetensors (for `glassbox attack stability`, `glassbox senn explain`, …)."
    )

    @Option(help: "Comma-separated λ values.") var lambdas = "0,1e-4,1e-3,1e-2,1e-1,1"
    @Option(parsing: .unconditional, help: "Test examples for the Lipschitz estimate.") var examples = 50
    @Option(help: "Output folder.") var out = "runs/senn-sweep"
    @Flag(help: "After choosing λ on the validation split, retrain λ = 0 and the chosen λ on all training examples and report those.") var refit = false
    @Flag(help: "Save each λ's model to --out/models (not with --refit).") var keepModels = false
    @OptionGroup var flags: SENNTrainingFlags
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func values() throws -> [Double] {
        let parsed = lambdas.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
            throw ValidationError("--lambdas must be comma-separated numbers ≥ 0, e.g. 0,1e-3,1e-2")
        }
        return parsed.map { $0! }
    }

    func validate() throws {
        _ = try values()
        guard (1...1000).contains(examples) else { throw ValidationError("--examples must be between 1 and 1000") }
        guard !(keepModels && refit) else { throw ValidationError("--keep-models saves the sweep's models; run it without --refit") }
    }

    func run() throws {
        try common.apply()
        let training = flags.options
        let dataset = try SENNData.load(training.dataset, mnist: data.source)
        let settings = StabilitySettings(examples: examples, seed: common.seed)
        let rows: [SweepRow], refitRows: [SweepRow]
        if refit {
            let choice = try showingProgress { try SENNAnalysis.choose(try values(), options: training, data: dataset, seed: common.seed, settings: settings) }
            (rows, refitRows) = (choice.sweep, choice.chosen == 0 ? [choice.refit] : [choice.baseline, choice.refit])
            let ratio = choice.refit.medianLipschitz / max(choice.baseline.medianLipschitz, 1e-12)
            let boxRatio = choice.refit.medianBoxLipschitz / max(choice.baseline.medianBoxLipschitz, 1e-12)
            print(String(format: "refit λ %g vs λ = 0: test accuracy %.2f%% vs %.2f%%, median Lipschitz %.2f× (gradient ascent), %.2f× (authors' protocol)",
                         choice.chosen, 100 * choice.refit.testAccuracy, 100 * choice.baseline.testAccuracy, ratio, boxRatio))
        } else {
            let models = (out as NSString).appendingPathComponent("models")
            if keepModels { try OutputFolder.prepare(models) }
            rows = try showingProgress {
                try SENNAnalysis.sweep(try values(), options: training, data: dataset, seed: common.seed, settings: settings) { lambda, model, _ in
                    guard keepModels else { return }
                    try SENNFile.save(model, dataset: training.dataset, data: dataset, to: (models as NSString).appendingPathComponent(String(format: "senn-lambda-%g.safetensors", lambda)))
                }
            }
            refitRows = []
            if let choice = SENNSweepReport.choice(rows) { print(choice) }
        }
        try SENNSweepReport.write(rows, refits: refitRows, data: dataset.description, to: out)
        print("report: \((out as NSString).appendingPathComponent("sweep.html"))")
    }
}
