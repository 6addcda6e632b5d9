import Adversarial
import Datasets
import ExplanationCore
import Foundation
import NN
import Report
import Torch

/// `glassbox attack`: accuracy under attack as ε grows, for each chosen attack, with the mean
/// perturbation norms, transfer of the examples to a second model, and the examples themselves.
public enum AttackStudy {
    public struct Settings: Sendable {
        public var methods = ["fgsm", "pgd"]
        /// ε values in each attack's own norm; nil: the catalog's list for that norm.
        public var epsilons: [Double]?
        public var attack = AttackSettings()
        /// Targeted at (label + 1) mod classes instead of untargeted.
        public var targeted = false
        public var batchSize = 256
        /// Examples drawn on the page per attack.
        public var examples = 8

        public init() {}
    }

    public struct Point: Codable, Sendable {
        public var epsilon: Double
        /// Accuracy on the adversarial inputs (robust accuracy against this attack).
        public var accuracy: Double
        /// The share of inputs whose goal is met (misclassified, or at the target).
        public var goalMet: Double
        public var meanLInfinity: Double, meanL2: Double
        /// The second model's accuracy on the same adversarial inputs.
        public var transferAccuracy: Double?
    }

    public struct Curve: Codable, Sendable {
        public var method: String
        public var norm: String
        public var points: [Point]
        public var seconds: Double
    }

    public struct Record: Codable, Sendable {
        public var model: String
        public var transferModel: String?
        public var inputs: Int
        public var labelsFrom: String
        public var targeted: Bool
        public var cleanAccuracy: Double
        public var transferCleanAccuracy: Double?
        public var curves: [Curve]
        /// Both models' saliency maps scored, when there is a transfer model.
        public var gradients: GradientComparison?
        public var seed: UInt64
        public var machine: String
    }

    /// A model under attack, with the name the page gives it.
    public struct Subject {
        public var model: Explainable
        public var name: String
        /// The model file it came from, which knows its inputs' shape.
        public var file: LoadedModel?
        public init(_ model: Explainable, name: String) { (self.model, self.name) = (model, name) }
    }

    /// Runs every attack at every ε on `inputs` (values in the settings' input range) and writes
    /// attack.json, attack.html, the example images and adversarial.safetensors (each attack's
    /// examples at its largest ε) to `out`.
    public static func run(_ subject: Subject, inputs: Tensor, labels: Tensor, labelsFrom: String, transfer: Subject?,
                           settings: Settings, seed: UInt64, out: String) throws -> Record {
        guard !settings.methods.isEmpty else { throw TorchError("name at least one attack") }
        let entries = try settings.methods.map(AttackCatalog.entry(named:))
        if let epsilons = settings.epsilons, epsilons.isEmpty || epsilons.contains(where: { !($0 >= 0 && $0.isFinite) }) {
            throw TorchError("ε values must be finite and ≥ 0, got \(epsilons)")
        }
        try OutputFolder.prepare(out)
        let classes = try noGrad { try subject.model(inputs[0..<1]) }.shape.last ?? 0
        let goal: AttackGoal = settings.targeted ? .reach(classes: try (labels + 1).remainder(Double(classes))) : .misclassify(labels: labels)
        let cleanPredictions = try predictions(subject.model, inputs, settings.batchSize)
        let clean = try share(cleanPredictions.eq(labels))
        let transferClean = try transfer.map { try accuracy($0.model, inputs, labels, settings.batchSize) }
        var curves: [Curve] = [], examples: [String: Tensor] = [:], sections: [AttackPage.Examples] = []
        let total = entries.reduce(0) { $0 + ($1.takesEpsilon ? epsilons(for: $1, settings).filter { $0 > 0 }.count : 1) }
        var done = 0
        for entry in entries {
            let started = Date()
            let list = epsilons(for: entry, settings)
            var points: [Point] = [], largest: Tensor?
            if entry.takesEpsilon {
                for epsilon in list {
                    guard epsilon > 0 else {
                        points.append(Point(epsilon: 0, accuracy: clean, goalMet: try share(goal.isMet(byPredictions: cleanPredictions)),
                                            meanLInfinity: 0, meanL2: 0, transferAccuracy: transferClean))
                        continue
                    }
                    let attack = try AttackCatalog.attack(named: entry.name, model: subject.model, epsilon: epsilon, settings: settings.attack)
                    let adversarial = try attack.perturb(inputs, goal: goal, batchSize: settings.batchSize)
                    points.append(try point(epsilon, adversarial, inputs, labels, goal, subject, transfer, settings.batchSize))
                    largest = adversarial
                    done += 1
                    ProgressObserver.report("attacks", done: done, of: total, unit: "runs", status: "\(entry.name) ε \(epsilon)")
                }
            } else {
                // A minimum-norm attack runs once; at each ε, an input counts as broken when the attack
                // met its goal with a perturbation of at most ε.
                let attack = try AttackCatalog.attack(named: entry.name, model: subject.model, epsilon: 0, settings: settings.attack)
                let adversarial = try attack.perturb(inputs, goal: goal, batchSize: settings.batchSize)
                done += 1
                ProgressObserver.report("attacks", done: done, of: total, unit: "runs", status: entry.name)
                let met = try goal.isMet(byPredictions: predictions(subject.model, adversarial, settings.batchSize))
                let norms = try perturbationNorms(adversarial, from: inputs)
                let correct = try cleanPredictions.eq(labels)
                for epsilon in list {
                    let within = try met.logicalAnd(norms.l2.le(epsilon + 1e-9))
                    // Broken within ε: an input stays correct only if it was correct and not broken.
                    let accuracyAt = try share(correct.logicalAnd(within.logicalNot()))
                    points.append(Point(epsilon: epsilon, accuracy: accuracyAt, goalMet: try share(within),
                                        meanLInfinity: try norms.lInfinity.maskedSelect(within).meanOrZero(),
                                        meanL2: try norms.l2.maskedSelect(within).meanOrZero(), transferAccuracy: nil))
                }
                largest = adversarial
            }
            curves.append(Curve(method: entry.name, norm: entry.norm.rawValue, points: points, seconds: Date().timeIntervalSince(started)))
            if let largest {
                examples["\(entry.name).adversarial"] = largest
                sections.append(try AttackPage.Examples(method: entry.name, epsilon: entry.takesEpsilon ? list.last : nil, inputs: inputs, adversarial: largest,
                                                        labels: labels, cleanPredictions: cleanPredictions, model: subject.model, count: settings.examples))
            }
        }
        var gradients: (GradientComparison, [Tensor])?
        if let transfer { gradients = try GradientComparison.compare([subject, transfer], inputs: inputs, labels: labels) }
        let record = Record(model: subject.name, transferModel: transfer?.name, inputs: inputs.shape[0], labelsFrom: labelsFrom, targeted: settings.targeted,
                            cleanAccuracy: clean, transferCleanAccuracy: transferClean, curves: curves, gradients: gradients?.0, seed: seed,
                            machine: MachineDescription.current.summary)
        examples["inputs"] = inputs
        examples["labels"] = labels
        try Safetensors.write(examples, to: "\(out)/adversarial.safetensors")
        try JSONFile.write(record, to: "\(out)/attack.json")
        try AttackPage.write(record, examples: sections, gradientMaps: gradients?.1, inputs: inputs, count: settings.examples, to: out)
        return record
    }

    static func epsilons(for entry: AttackCatalog.Entry, _ settings: Settings) -> [Double] {
        settings.epsilons ?? AttackCatalog.defaultEpsilons(for: entry.norm)
    }

    static func point(_ epsilon: Double, _ adversarial: Tensor, _ inputs: Tensor, _ labels: Tensor, _ goal: AttackGoal,
                      _ subject: Subject, _ transfer: Subject?, _ batchSize: Int) throws -> Point {
        let norms = try perturbationNorms(adversarial, from: inputs)
        let predicted = try predictions(subject.model, adversarial, batchSize)
        return Point(epsilon: epsilon, accuracy: try share(predicted.eq(labels)), goalMet: try share(goal.isMet(byPredictions: predicted)),
                     meanLInfinity: try norms.lInfinity.mean().item(), meanL2: try norms.l2.mean().item(),
                     transferAccuracy: try transfer.map { try accuracy($0.model, adversarial, labels, batchSize) })
    }

    static func predictions(_ model: Explainable, _ x: Tensor, _ batchSize: Int) throws -> Tensor {
        try noGrad {
            try Tensor.cat(stride(from: 0, to: x.shape[0], by: batchSize).map { try model(x[$0..<min(x.shape[0], $0 + batchSize)]).argmax(dim: 1) })
        }
    }

    static func accuracy(_ model: Explainable, _ x: Tensor, _ labels: Tensor, _ batchSize: Int) throws -> Double {
        try share(predictions(model, x, batchSize).eq(labels))
    }

    /// The share of true values of a boolean mask.
    static func share(_ mask: Tensor) throws -> Double { try mask.to(.float64).mean().item() }
}

extension Tensor {
    /// The mean of a 1-d tensor, 0 when it is empty.
    func meanOrZero() throws -> Double { count == 0 ? 0 : try to(.float64).mean().item() }
}

extension AttackStudy.Subject {
    /// A model file (Glassbox or TorchScript), normalising its inputs first when asked.
    public init(loading path: String, normalization: InputNormalization?) throws {
        let loaded = try ModelFile.load(path)
        let model: Explainable = normalization.map { normalize in ForwardFunction { try loaded.model(normalize($0)) } } ?? loaded.model
        // The folder too: runs name every model model.safetensors.
        let parts = (path as NSString).pathComponents.suffix(2)
        self.init(model, name: parts.count == 2 && parts.first != "/" ? parts.joined(separator: "/") : (path as NSString).lastPathComponent)
        file = loaded
    }
}

extension AttackStudy {
    /// The inputs to attack and their labels: the first `count` bundled MNIST test digits, or a
    /// file's inputs labelled by the model's own predictions.
    public static func inputs(for subject: Subject, file: String?, count: Int) throws -> (inputs: Tensor, labels: Tensor, source: String) {
        if let file {
            let batch = try subject.file?.inputs(from: file).batch ?? InputFile.load(file, expecting: nil, channels: nil).batch
            return (batch, try predictions(subject.model, batch, 256), "the model's predictions on \((file as NSString).lastPathComponent)")
        }
        guard subject.file?.inputShape == nil || subject.file?.inputShape == MNIST.imageShape else {
            throw TorchError("this model does not take MNIST digits; pass --input FILE")
        }
        let test = try MNIST.bundled().test
        let n = min(count, test.images.shape[0])
        return (try test.images[0..<n], try test.labels[0..<n], "the bundled MNIST test labels")
    }

    /// The lines the command prints.
    public static func summary(_ record: Record) -> [String] {
        var lines = [String(format: "clean accuracy %.2f%% on %d inputs%@", 100 * record.cleanAccuracy, record.inputs,
                            record.transferCleanAccuracy.map { String(format: " (transfer model %.2f%%)", 100 * $0) } ?? "")]
        for curve in record.curves {
            let points = curve.points.map { p in
                String(format: "ε %g: %.1f%%", p.epsilon, 100 * p.accuracy) + (p.transferAccuracy.map { String(format: " (→ %.1f%%)", 100 * $0) } ?? "")
            }
            lines.append("\(curve.method) (\(curve.norm == "linf" ? "L∞" : "L2"), \(String(format: "%.1f s", curve.seconds))): " + points.joined(separator: ", "))
        }
        return lines
    }
}
