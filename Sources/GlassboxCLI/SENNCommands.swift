import ArgumentParser
import ExplanationCore
import Concepts
import Foundation
import NN
import Report
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
    @OptionGroup var training: SENNTrainingOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let loaded = try SENNData.load(training.dataset, mnist: data)
        let dataset = allTrainingData ? try loaded.refitting() : loaded
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        print("training a SENN on \(dataset.description): λ \(training.robustness), ξ \(training.reconstruction), ζ \(training.sparsity), \(training.epochCount) epochs")
        let (model, metrics) = try SENNRun.train(training, data: dataset, seed: common.seed, out: out, resume: resume)
        try SENNFile.save(model, dataset: training.dataset, data: dataset, nonnegativeConcepts: training.nonnegativeConcepts,
                          to: (out as NSString).appendingPathComponent("model.safetensors"))
        try MNISTRun.writeJSON(metrics, to: (out as NSString).appendingPathComponent("metrics.json"))
        let validation = metrics.validationAccuracy.map { String(format: "validation accuracy %.2f%%, ", 100 * $0) } ?? ""
        print(String(format: "%@test accuracy %.2f%%, model written to %@", validation, 100 * metrics.testAccuracy,
                     (out as NSString).appendingPathComponent("model.safetensors")))
    }
}

/// Which inputs a SENN command explains: files, or the first test examples of the model's dataset.
struct SENNInputOptions: ParsableArguments {
    @Option(parsing: .upToNextOption, help: "Inputs (.png, .npy, .safetensors): MNIST images in [0, 1], or standardised feature rows for breast-cancer. Default: the first --examples test examples.")
    var input: [String] = []
    @Option(help: "How many test examples to use when no --input is given.") var examples = 4

    func validate() throws {
        guard (1...1000).contains(examples) else { throw ValidationError("--examples must be between 1 and 1000") }
    }

    func load(for file: SENNFile, data: DataOptions) throws -> (inputs: Tensor, names: [String]) {
        if input.isEmpty {
            let test = try SENNData.load(file.dataset, mnist: data)
            let n = min(examples, test.testLabels.count)
            return (try test.testInputs.slice(dim: 0, start: 0, end: n), (0..<n).map { "test example \($0)" })
        }
        var batches: [Tensor] = [], names: [String] = []
        for path in input {
            let (batch, batchNames) = try InputFile.load(path, expecting: file.inputShape)
            batches.append(batch)
            names += batchNames
        }
        return (try Tensor.cat(batches), names)
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
        let (x, names) = try inputs.load(for: file, data: data)
        let output = try noGrad { try file.model.explain(x) }
        let predicted = try output.logits.argmax(dim: 1).scalars(as: Int64.self).map(Int.init)
        struct Explanation: Codable { var input: String; var predicted: String; var relevances: [[Double]]; var concepts: [Double] }
        var records: [Explanation] = []
        for (row, name) in names.enumerated() {
            let c = predicted[row]
            let theta = try output.relevances[row].to(.float64)
            let relevance = try theta.select(dim: 1, index: c).scalars(as: Double.self)
            print("\(name): predicted \(file.classNames[c])")
            let order = (0..<file.model.concepts).sorted { abs(relevance[$0]) > abs(relevance[$1]) }.prefix(10)
            for k in order {
                print(String(format: "  %@ θ %+.4f", file.conceptNames[k].padding(toLength: 26, withPad: " ", startingAt: 0), relevance[k]))
            }
            records.append(Explanation(input: name, predicted: file.classNames[c],
                                       relevances: try (0..<file.model.concepts).map { try theta[$0].scalars(as: Double.self) },
                                       concepts: try output.concepts[row].to(.float64).scalars(as: Double.self)))
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var page = HTMLPage(title: "SENN explanations")
        page.paragraph("f(x) = Σₖ θ(x)ₖ·h(x)ₖ per class. Left: the input; middle: each concept's relevance θ for the predicted class; right: the concept activations h(x).")
        page.html(try SENNReport.explanations(file, inputs: x, output: output, names: names, folder: out, imageFolder: "explain"))
        try MNISTRun.writeJSON(records, to: (out as NSString).appendingPathComponent("explanations.json"))
        try page.writeReport(named: "explain.html", in: out)
    }
}

struct SENNPrototypes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prototypes",
        abstract: "Show what each learnt concept means: the training examples that activate it most, and examples across its range.",
        discussion: "Writes prototypes.html with two mosaics (rows = concepts) to --out. Needs a model with learnt concepts (MNIST); tabular SENNs use the features themselves as concepts."
    )

    @Option(help: "A model.safetensors written by `glassbox senn train`.") var model: String
    @Option(help: "Examples per concept.") var count = 8
    @Option(help: "Output folder.") var out = "runs/senn-prototypes"
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (2...32).contains(count) else { throw ValidationError("--count must be between 2 and 32") }
    }

    func run() throws {
        try common.apply()
        let file = try SENNFile.load(model)
        guard file.dataset == .mnist else {
            throw TorchError("this SENN's concepts are its input features (\(file.dataset.rawValue)); prototypes are for learnt concepts — use `glassbox senn explain` to see feature relevances")
        }
        let train = try SENNData.load(file.dataset, mnist: data).trainInputs
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var page = HTMLPage(title: "SENN concept prototypes")
        page.html(try SENNReport.prototypes(file.model, images: train, count: count, folder: out, imageFolder: "prototypes"))
        try page.writeReport(named: "prototypes.html", in: out)
    }
}

struct SENNStability: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stability",
        abstract: "Local Lipschitz stability and concept faithfulness of a SENN, optionally against post-hoc methods on a CNN.",
        discussion: """
        Reports the gradient-ascent Lipschitz estimate of θ(x) (the paper's), the estimate as the authors' released code computes it
        (random points in x ± 0.01·σ per feature), the sampling estimate for θ of the predicted class, and
        concept faithfulness (correlation of θ with the probability drop when a concept is removed). With --cnn MODEL, the same
        sampling estimate for saliency, integrated gradients, LIME and occlusion on that model. Writes stability.html and stability.json.
        """
    )

    @Option(help: "A model.safetensors written by `glassbox senn train`.") var model: String
    @Option(help: "A CNN to compare with (a Glassbox model.safetensors or TorchScript file for the same inputs).") var cnn: String?
    @Option(help: "Test examples evaluated.") var examples = 50
    @Option(help: "Perturbed points per example.") var samples = 10
    @Option(help: "Gradient-ascent steps.") var steps = 10
    @Option(help: "L∞ radius of the neighbourhood.") var radius = 0.1
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
        let test = try SENNData.load(file.dataset, mnist: data)
        let x = try test.testInputs.slice(dim: 0, start: 0, end: min(examples, test.testLabels.count))
        let settings = StabilitySettings(examples: x.shape[0], samples: samples, steps: steps, radius: radius, seed: common.seed)
        let ascent = SENNAnalysis.median(try SENNAnalysis.ascentLipschitz(file.model, inputs: x, settings: settings))
        let conceptAscent = SENNAnalysis.median(try SENNAnalysis.ascentLipschitz(file.model, inputs: x, settings: settings, inConceptSpace: true))
        print(String(format: "median gradient-ascent Lipschitz in concept space (‖Δθ‖/‖Δh‖): %.4g", conceptAscent))
        let box = SENNAnalysis.median(try SENNAnalysis.boxLipschitz(file.model, inputs: x, training: test.trainInputs, settings: settings))
        print(String(format: "median Lipschitz as the authors' code estimates it (%d random points in x ± 0.01·σ per feature): %.4g", samples, box))
        let robustness = try file.model.robustnessLoss(x).item()
        print(String(format: "robustness loss L_θ (exact) on these examples: %.4g", robustness))
        let concepts = try ConceptFaithfulness.evaluate(file.model, inputs: x)
        let faithfulness = concepts.correlation, contribution = concepts.contributionCorrelation
        let progress = NN.Progress("stability", total: comparison == nil ? 1 : 5, unit: "methods")
        let rows = try SENNAnalysis.compare(senn: file.model, cnn: comparison?.model, inputs: x, settings: settings, progress: progress)
        print(String(format: "SENN θ(x): median gradient-ascent Lipschitz %.4g; concept faithfulness with θ %.3f ± %.3f, with θ·h %.3f ± %.3f",
                     ascent, try faithfulness.mean().item(), try faithfulness.std().item(), try contribution.mean().item(),
                     try contribution.std().item()))
        for row in rows {
            print(String(format: "  %@ %@ median Lipschitz %.4g, relative %.4g", row.method.padding(toLength: 24, withPad: " ", startingAt: 0),
                         row.model.padding(toLength: 5, withPad: " ", startingAt: 0), row.medianLipschitz, row.medianRelativeLipschitz))
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        struct Result: Codable {
            var settings: StabilitySettings; var ascentMedianLipschitz: Double; var boxMedianLipschitz: Double; var faithfulness: [Double]; var contributionFaithfulness: [Double]
            var sampling: [StabilityRow]
        }
        try MNISTRun.writeJSON(Result(settings: settings, ascentMedianLipschitz: ascent, boxMedianLipschitz: box, faithfulness: try faithfulness.scalars(as: Double.self),
                                      contributionFaithfulness: try contribution.scalars(as: Double.self), sampling: rows), to: (out as NSString).appendingPathComponent("stability.json"))
        var page = HTMLPage(title: "SENN stability and faithfulness")
        page.keyValues([("median gradient-ascent Lipschitz of θ(x)", String(format: "%.4g", ascent)),
                        ("median Lipschitz, the authors' protocol (x ± 0.01·σ, random points, predicted class)", String(format: "%.4g", box)),
                        ("concept faithfulness: drops vs θ (mean Pearson, the paper's)", String(format: "%.3f", try faithfulness.mean().item())),
                        ("concept faithfulness: drops vs contributions θ·h", String(format: "%.3f", try contribution.mean().item()))])
        page.html(SENNReport.stabilityTable(rows, settings: settings))
        try page.writeReport(named: "stability.html", in: out)
    }
}

struct SENNSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train one SENN per robustness weight λ and plot accuracy and stability against λ (the paper's Figure 4).",
        discussion: "Writes sweep.html and sweep.json to --out. Every other training setting is shared across λ."
    )

    @Option(help: "Comma-separated λ values.") var lambdas = "0,1e-4,1e-3,1e-2,1e-1,1"
    @Option(help: "Test examples for the Lipschitz estimate.") var examples = 50
    @Option(help: "Output folder.") var out = "runs/senn-sweep"
    @Flag(help: "After choosing λ on the validation split, retrain λ = 0 and the chosen λ on all training examples and report those.") var refit = false
    @OptionGroup var training: SENNTrainingOptions
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
    }

    func run() throws {
        try common.apply()
        let dataset = try SENNData.load(training.dataset, mnist: data)
        var settings = StabilitySettings()
        settings.examples = examples
        settings.seed = common.seed
        let rows: [SweepRow], refitRows: [SweepRow]
        if refit {
            let choice = try SENNAnalysis.choose(try values(), options: training, data: dataset, seed: common.seed, settings: settings)
            (rows, refitRows) = (choice.sweep, choice.chosen == 0 ? [choice.refit] : [choice.baseline, choice.refit])
            let ratio = choice.refit.medianLipschitz / max(choice.baseline.medianLipschitz, 1e-12)
            let boxRatio = choice.refit.medianBoxLipschitz / max(choice.baseline.medianBoxLipschitz, 1e-12)
            print(String(format: "refit λ %g vs λ = 0: test accuracy %.2f%% vs %.2f%%, median Lipschitz %.2f× (gradient ascent), %.2f× (authors' protocol)",
                         choice.chosen, 100 * choice.refit.testAccuracy, 100 * choice.baseline.testAccuracy, ratio, boxRatio))
        } else {
            (rows, refitRows) = (try SENNAnalysis.sweep(try values(), options: training, data: dataset, seed: common.seed, settings: settings), [])
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try MNISTRun.writeJSON(rows + refitRows, to: (out as NSString).appendingPathComponent("sweep.json"))
        var choices = ""
        if let tuned = SENNAnalysis.tuned(rows) {
            choices = String(format: "Chosen on the validation split: λ %g (the lowest Lipschitz estimate among λ > 0 within 1.5 points of the best validation accuracy). The test columns only report.", tuned.robustness)
            if !refit { print(choices) }
        }
        var page = HTMLPage(title: "SENN: accuracy and stability against the robustness weight λ")
        page.paragraph("Data: \(dataset.description). Each λ trains a fresh SENN with the same seed and settings. \(choices)")
        page.html(SENNReport.sweepCharts(rows))
        if !refitRows.isEmpty {
            page.heading("Refit on all training examples")
            page.html(SENNReport.sweepCharts(refitRows))
        }
        try page.writeReport(named: "sweep.html", in: out)
    }
}
