import ExplanationCore
import Torch

/// Settings an attack may read; nil means the attack's own default.
public struct AttackSettings: Sendable {
    public var steps: Int?
    public var stepSize: Double?
    public var randomStart = true
    public var seed: UInt64 = 0
    /// Carlini–Wagner: c, κ, Adam's learning rate and binary-search rounds. Front ends default to
    /// 5 rounds and a rate of 0.1: at the paper's 0.01, 100 steps barely move pixels at the ends of
    /// the range (all of MNIST's background), where the tanh parametrisation is flat, and on the
    /// demo CNN the attack then breaks far fewer digits within an L2 budget than PGD-L2 does.
    public var constant = 1.0, confidence = 0.0, learningRate = 0.1
    public var searchSteps = 5
    public var inputRange: ClosedRange<Double> = 0...1

    public init(seed: UInt64 = 0) { self.seed = seed }
}

/// Every attack by name, with its threat model and default ε list, read by every front end.
public enum AttackCatalog {
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
        /// The norm ε is measured in (and the perturbation norm reported for it).
        public let norm: ProjectedGradientDescent.Norm
        /// Whether ε bounds the attack; a minimum-norm attack (CW) runs once, and its accuracy at
        /// each ε counts the inputs it could not move across the boundary within ε.
        public let takesEpsilon: Bool
        let build: @Sendable (Explainable, Double, AttackSettings) -> AdversarialAttack
    }

    /// ε for inputs in [0, 1]: up to 0.3 in L∞ (Madry et al.'s MNIST budget), up to 3 in L2.
    public static func defaultEpsilons(for norm: ProjectedGradientDescent.Norm) -> [Double] {
        norm == .lInfinity ? [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3] : [0, 0.5, 1, 1.5, 2, 2.5, 3]
    }

    public static let entries: [Entry] = [
        Entry(name: "fgsm", summary: "fast gradient sign method: one signed step of size ε (Goodfellow et al. 2015)", norm: .lInfinity, takesEpsilon: true) { model, epsilon, s in
            FastGradientSignMethod(model, epsilon: epsilon, inputRange: s.inputRange)
        },
        Entry(name: "bim", summary: "basic iterative method: signed steps of 1/255 from the input, the paper's step count (Kurakin et al. 2017)", norm: .lInfinity, takesEpsilon: true) { model, epsilon, s in
            BasicIterativeMethod(model, epsilon: epsilon, stepSize: s.stepSize ?? 1.0 / 255, steps: s.steps, inputRange: s.inputRange)
        },
        Entry(name: "pgd", summary: "projected gradient descent in the L∞ ball, random start, 40 steps of 2.5ε/40 (Madry et al. 2018)", norm: .lInfinity, takesEpsilon: true) { model, epsilon, s in
            pgd(model, .lInfinity, epsilon, s)
        },
        Entry(name: "pgd-l2", summary: "projected gradient descent in the L2 ball, random start, 40 steps of 2.5ε/40 (Madry et al. 2018)", norm: .l2, takesEpsilon: true) { model, epsilon, s in
            pgd(model, .l2, epsilon, s)
        },
        Entry(name: "cw", summary: "Carlini–Wagner L2: the smallest perturbation Adam finds for c (binary search over c with --search-steps) (Carlini & Wagner 2017)", norm: .l2, takesEpsilon: false) { model, _, s in
            CarliniWagnerL2(model, constant: s.constant, confidence: s.confidence, steps: s.steps ?? 100, learningRate: s.learningRate,
                            searchSteps: s.searchSteps, inputRange: s.inputRange)
        },
    ]

    static func pgd(_ model: Explainable, _ norm: ProjectedGradientDescent.Norm, _ epsilon: Double, _ s: AttackSettings) -> AdversarialAttack {
        var attack = ProjectedGradientDescent(model, norm: norm, epsilon: epsilon, steps: s.steps ?? 40, stepSize: s.stepSize, inputRange: s.inputRange)
        attack.randomStart = s.randomStart
        attack.seed = s.seed
        return attack
    }

    public static var names: [String] { entries.map(\.name) }

    public static func entry(named name: String) throws -> Entry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw TorchError("unknown attack '\(name)'; choose from \(names.joined(separator: ", "))")
        }
        return entry
    }

    /// The attack `name` at budget ε (ignored by minimum-norm attacks).
    public static func attack(named name: String, model: Explainable, epsilon: Double, settings: AttackSettings) throws -> AdversarialAttack {
        try entry(named: name).build(model, epsilon, settings)
    }
}
