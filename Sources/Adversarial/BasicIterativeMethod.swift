import ExplanationCore
import Torch

/// The basic iterative method, iterative FGSM (Kurakin, Goodfellow & Bengio 2017, "Adversarial
/// examples in the physical world"): FGSM steps of size α from the input itself, each clipped
/// to the ε-ball (L∞) and the valid range. With `steps` nil, the paper's count
/// min(ε·255 + 4, 1.25·ε·255) for pixels in [0, 1] and α = 1/255.
public struct BasicIterativeMethod: AdversarialAttack {
    public let model: Explainable
    public var epsilon: Double
    public var stepSize: Double
    public var steps: Int?
    public var inputRange: ClosedRange<Double>

    public init(_ model: Explainable, epsilon: Double, stepSize: Double = 1.0 / 255, steps: Int? = nil, inputRange: ClosedRange<Double> = 0...1) {
        (self.model, self.epsilon, self.stepSize, self.steps, self.inputRange) = (model, epsilon, stepSize, steps, inputRange)
    }

    /// The number of steps used: the given one, or the paper's.
    public var effectiveSteps: Int { steps ?? max(1, Int(min(epsilon * 255 + 4, 1.25 * epsilon * 255))) }

    public func perturb(_ inputs: Tensor, goal: AttackGoal) throws -> Tensor {
        var walk = ProjectedGradientDescent(model, norm: .lInfinity, epsilon: epsilon, steps: effectiveSteps, stepSize: stepSize, inputRange: inputRange)
        walk.randomStart = false
        return try walk.perturb(inputs, goal: goal)
    }
}
