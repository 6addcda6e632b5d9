import Adversarial
import ArgumentParser
import Datasets
import Foundation
import Runs
import Torch

struct AttackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Adversarial examples: attacks as ε grows (the default subcommand), the linear explanation, and explanation stability against robustness.",
        subcommands: [AttackRun.self, AttackLinear.self, AttackStability.self],
        defaultSubcommand: AttackRun.self
    )
}

struct AttackLinear: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linear",
        abstract: "The linear explanation (Goodfellow et al. 2015): FGSM's margin change ε‖θ‖₁ on logistic regression grows with the input dimension.",
        discussion: "Two-class synthetic data whose classes stay equally separable at every dimension d while each feature's signal shrinks as 1/√d; logistic regression fitted per d, then FGSM at ε. Prints and writes linear.json to --out."
    )

    @Option(help: "Input dimensions, comma-separated.") var dimensions = "10,100,1000,10000"
    @Option(help: "ε: how far FGSM moves every feature.") var eps = 0.02
    @Option(help: "Output folder.") var out = "runs/attack-linear"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard parsedDimensions().count > 0 else { throw ValidationError("--dimensions takes comma-separated whole numbers from 1 to 100,000") }
        guard eps > 0, eps < 0.5 else { throw ValidationError("--eps must lie in (0, 0.5)") }
    }

    func parsedDimensions() -> [Int] {
        let values = dimensions.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return values.allSatisfy({ $0 != nil && (1...100_000).contains($0!) }) ? values.map { $0! } : []
    }

    func run() throws {
        try common.apply()
        try OutputFolder.prepare(out)
        let record = try showingProgress { try LinearAdversarialStudy.run(dimensions: parsedDimensions(), epsilon: eps, seed: common.seed) }
        print("Logistic regression, FGSM at ε = \(eps) (\(record.machine))\n")
        printTable(LinearAdversarialStudy.table(record))
        try JSONFile.write(record, to: "\(out)/linear.json")
        print("\nwrote \(out)/linear.json")
    }
}

struct AttackStability: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stability",
        abstract: "Explanation stability (local Lipschitz) against adversarial robustness across MNIST classifiers: CNNs and SENNs.",
        discussion: paragraphs("""
        For each --model (the demo CNN, an adversarially trained CNN, SENNs from `glassbox senn sweep --keep-models`): accuracy on
        the bundled test digits, clean and under PGD at each --eps, and the median local Lipschitz estimate of its saliency map (and
        of a SENN's relevances θ(x)); Spearman's ρ across models. Writes stability.json and stability.html to --out.
        """)
    )

    @Option(name: .customLong("model"), help: "A model file (repeat: at least one; three or more for a correlation).") var models: [String] = []
    @Option(help: "PGD budgets ε (L∞, pixels in [0, 1]), comma-separated.") var eps = StabilityVulnerabilityStudy.Settings().epsilons.map { String(format: "%g", $0) }.joined(separator: ",")
    @Option(help: "PGD steps.") var steps = StabilityVulnerabilityStudy.Settings().steps
    @Option(help: "Test digits attacked.") var inputs = StabilityVulnerabilityStudy.Settings().inputs
    @Option(help: "Test digits whose explanations' Lipschitz estimates are taken.") var examples = StabilityVulnerabilityStudy.Settings().stability.examples
    @Option(help: "Output folder.") var out = "runs/attack-stability"
    @OptionGroup var common: CommonOptions

    func parsedEpsilons() -> [Double]? {
        let values = eps.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        return !values.isEmpty && values.allSatisfy({ $0 != nil && $0! > 0 && $0! < 1 }) ? values.map { $0! } : nil
    }

    func validate() throws {
        guard (1...32).contains(models.count) else { throw ValidationError("name 1 to 32 models with --model") }
        guard parsedEpsilons() != nil else { throw ValidationError("--eps takes comma-separated budgets in (0, 1)") }
        guard (1...1000).contains(steps), (1...10_000).contains(inputs), (1...1000).contains(examples) else {
            throw ValidationError("--steps 1…1,000, --inputs 1…10,000, --examples 1…1,000")
        }
    }

    func run() throws {
        try common.apply()
        let loaded = try models.map { (name: $0, model: try ModelFile.load($0)) }
        var settings = StabilityVulnerabilityStudy.Settings()
        (settings.epsilons, settings.steps, settings.inputs) = (parsedEpsilons()!, steps, inputs)
        settings.stability = StabilitySettings(examples: examples, seed: common.seed)
        let record = try showingProgress { try StabilityVulnerabilityStudy.run(loaded, test: MNIST.bundled().test, settings: settings, seed: common.seed, out: out) }
        for row in record.rows {
            print(String(format: "%@ (%@): clean %.1f%%, PGD %@; saliency Lipschitz %.4g%@", row.model, row.kind, 100 * row.cleanAccuracy,
                         zip(record.epsilons, row.robustAccuracy).map { String(format: "ε %g %.1f%%", $0.0, 100 * $0.1) }.joined(separator: ", "),
                         row.saliencyLipschitz, row.relevanceLipschitz.map { String(format: ", θ Lipschitz %.4g", $0) } ?? ""))
        }
        if let rho = record.spearman { print("Spearman ρ (saliency Lipschitz, PGD accuracy), all models: " + rho.map(StabilityVulnerabilityStudy.rhoText).joined(separator: ", ")) }
        if let rho = record.sennSpearman { print("Spearman ρ (θ Lipschitz, PGD accuracy), SENNs: " + rho.map(StabilityVulnerabilityStudy.rhoText).joined(separator: ", ")) }
        print(String(format: "%.0f s; page: %@/stability.html", record.seconds, out))
    }
}

struct AttackRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Accuracy under FGSM, BIM, PGD (L∞, L2) and Carlini–Wagner as ε grows, with transfer to a second model.",
        discussion: paragraphs("""
        Attacks the model's cross-entropy (untargeted, or --targeted at label + 1) on inputs with values in [0, 1]; with --normalize the
        normalisation runs inside the model, so ε is in pixel units. For each attack and each ε: accuracy on the adversarial inputs,
        the share whose goal is met, mean L∞ and L2 perturbation norms and, with --transfer-to, the second model's accuracy on the same
        examples. cw (a minimum-norm attack) runs once; its curve counts the inputs it moved across the boundary within each L2 ε.
        Writes attack.json, attack.html (curves, table, examples) and adversarial.safetensors (each attack's examples at its largest ε)
        to --out. Inputs: the bundled MNIST test digits with their labels, or --input FILE (labels: the model's own predictions).
        Native Glassbox models and TorchScript models alike.
        """)
    )

    @Option(help: "A Glassbox model file (see `glassbox train`) or a TorchScript file.") var model: String?
    @Option(help: "Attacks, comma-separated, or 'all' (see --list).") var method = "fgsm,pgd"
    @Option(help: "ε values, comma-separated, in each attack's norm (default: 0 … 0.3 for L∞, 0 … 3 for L2).") var eps: String?
    @Option(help: "Steps of the iterative attacks (default: PGD 40, BIM the paper's count, CW 100).") var steps: Int?
    @Option(help: "Step size of BIM and PGD (default: BIM 1/255, PGD 2.5·ε/steps).") var stepSize: Double?
    @Flag(help: "PGD starts at the input instead of a random point of the ball.") var noRandomStart = false
    @Option(name: .customLong("c"), help: "Carlini–Wagner: the weight c of the margin term (the start of the search).") var constant = AttackSettings().constant
    @Option(help: "Carlini–Wagner: the confidence κ a success must exceed.") var kappa = AttackSettings().confidence
    @Option(help: "Carlini–Wagner: Adam's learning rate.") var learningRate = AttackSettings().learningRate
    @Option(help: "Carlini–Wagner: rounds of the binary search over c, per input (1: c fixed).") var searchSteps = AttackSettings().searchSteps
    @Flag(help: "Targeted: push each input to class (label + 1) mod classes.") var targeted = false
    @Option(help: "A second model file: its accuracy on the first model's adversarial examples (transfer).") var transferTo: String?
    @Option(help: "Inputs: .npy/.png/.safetensors (default: the bundled MNIST test digits).") var input: String?
    @Option(help: "How many bundled digits.") var inputs = 500
    @Option(help: "Inputs attacked together.") var batchSize = 256
    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @Option(help: "Output folder.") var out = "runs/attack"
    @Flag(help: "List the attacks and exit.") var list = false
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if list { return }
        guard model != nil else { throw ValidationError("--model is required (or --list)") }
        guard inputs >= 1, batchSize >= 1 else { throw ValidationError("--inputs and --batch-size must be at least 1") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if let stepSize, !(stepSize > 0 && stepSize.isFinite) { throw ValidationError("--step-size must be positive") }
        guard constant > 0, kappa >= 0, learningRate > 0, (1...20).contains(searchSteps) else {
            throw ValidationError("Carlini–Wagner needs --c > 0, --kappa ≥ 0, --learning-rate > 0 and --search-steps in 1…20")
        }
        _ = try methods()
        _ = try epsilons()
        try validateNormalization(normalize)
    }

    func methods() throws -> [String] {
        let names = method == "all" ? AttackCatalog.names : method.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for name in names where !AttackCatalog.names.contains(name) {
            throw ValidationError("unknown attack '\(name)'; choose from \(AttackCatalog.names.joined(separator: ", ")) or 'all'")
        }
        guard !names.isEmpty else { throw ValidationError("--method names no attack") }
        return names
    }

    func epsilons() throws -> [Double]? {
        guard let eps else { return nil }
        let values = eps.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
            throw ValidationError("--eps takes comma-separated numbers ≥ 0, got '\(eps)'")
        }
        return values.map { $0! }
    }

    func run() throws {
        if list {
            for entry in AttackCatalog.entries { print("\(entry.name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(entry.norm == .lInfinity ? "L∞" : "L2")  \(entry.summary)") }
            return
        }
        try common.apply()
        var settings = AttackStudy.Settings()
        (settings.methods, settings.epsilons, settings.targeted, settings.batchSize) = (try methods(), try epsilons(), targeted, batchSize)
        settings.attack = AttackSettings(seed: common.seed)
        (settings.attack.steps, settings.attack.stepSize, settings.attack.randomStart) = (steps, stepSize, !noRandomStart)
        (settings.attack.constant, settings.attack.confidence, settings.attack.learningRate, settings.attack.searchSteps) = (constant, kappa, learningRate, searchSteps)
        let normalization = try normalize.map(InputNormalization.init(parsing:))
        let subject = try AttackStudy.Subject(loading: model!, normalization: normalization)
        let transfer = try transferTo.map { try AttackStudy.Subject(loading: $0, normalization: normalization) }
        let (batch, labels, source) = try AttackStudy.inputs(for: subject, file: input, count: inputs)
        let record = try showingProgress {
            try AttackStudy.run(subject, inputs: batch, labels: labels, labelsFrom: source, transfer: transfer, settings: settings, seed: common.seed, out: out)
        }
        for line in AttackStudy.summary(record) { print(line) }
        print("page: \(out)/attack.html")
    }
}

struct AdversarialTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adversarial-train",
        abstract: "Train the MNIST CNN on adversarial examples (PGD, or FGSM from a random start); compare it with `glassbox attack --model … --transfer-to …`.",
        discussion: "Every batch is attacked (L∞, ε in pixel units, the model in evaluation mode) before the loss: --method pgd (Madry et al. 2018, --steps steps of 2.5ε/steps) or fgsm (Wong et al. 2020: a random start and one step of 1.25ε, about twice the cost of standard training). --warm-up N ramps ε up linearly over the first N epochs (the step size with it), which PGD training on MNIST needs to leave the constant-output plateau. The other flags are `glassbox train`'s. Writes checkpoint.safetensors, model.safetensors and metrics.json to --out."
    )

    @Option(help: "fgsm or pgd.") var method: AdversarialTraining.Method = .fgsm
    @Option(help: "ε, the L∞ budget (pixels in [0, 1]).") var eps = 0.3
    @Option(help: "PGD steps.") var steps = 10
    @Option(help: "Step size (default: 1.25ε for fgsm, 2.5ε/steps for pgd).") var stepSize: Double?
    @Option(help: "Epochs over which ε grows linearly from 0 (0: full ε from the first batch).") var warmUp = 0.0
    @Option(help: "Output folder.") var out = "runs/adversarial-train"
    @Flag(help: "Continue from --out/checkpoint.safetensors if it exists.") var resume = false
    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var common: CommonOptions

    var options: CNNTrainingOptions {
        var options = training.options
        options.adversarial = AdversarialTraining(method: method, epsilon: eps, steps: steps, stepSize: stepSize, warmUpEpochs: warmUp)
        return options
    }

    func validate() throws { try asUsageError(options.validate) }

    func run() throws {
        try common.apply()
        let (_, metrics, _) = try showingProgress {
            try MNISTRun.train(source: data.source, options: options, seed: common.seed, out: out, resume: resume)
        }
        print(String(format: "clean test accuracy %.2f%%, model written to %@", 100 * metrics.testAccuracy, (out as NSString).appendingPathComponent("model.safetensors")))
        print("robust accuracy: glassbox attack --model \((out as NSString).appendingPathComponent("model.safetensors")) --method pgd --transfer-to OTHER_MODEL")
    }
}

extension AdversarialTraining.Method: ExpressibleByArgument {}
