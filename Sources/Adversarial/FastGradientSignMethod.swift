import ExplanationCore
import Torch

/// The fast gradient sign method (Goodfellow, Shlens & Szegedy 2015, "Explaining and
/// harnessing adversarial examples"): one step of size ε along the sign of the input gradient of
/// the cross-entropy, the worst case for a locally linear model under ‖η‖∞ ≤ ε; then clamped to
/// the valid range.
public struct FastGradientSignMethod: AdversarialAttack {
    public let model: Explainable
    public var epsilon: Double
    public var inputRange: ClosedRange<Double>

    public init(_ model: Explainable, epsilon: Double, inputRange: ClosedRange<Double> = 0...1) {
        (self.model, self.epsilon, self.inputRange) = (model, epsilon, inputRange)
    }

    public func perturb(_ inputs: Tensor, goal: AttackGoal) throws -> Tensor {
        guard epsilon >= 0, epsilon.isFinite else { throw TorchError("FGSM needs ε ≥ 0, got \(epsilon)") }
        try goal.validate(inputs, model: model, range: inputRange)
        let step = InputOptimization(goal.direction, step: .signed(size: epsilon), steps: 1,
                                     constraints: [.range(low: inputRange.lowerBound, high: inputRange.upperBound)])
        return try firstOrderInputLoop(inputElements: inputs.count) { try step.run(from: inputs, objective: { try goal.crossEntropy(model($0)) }) }
    }
}
