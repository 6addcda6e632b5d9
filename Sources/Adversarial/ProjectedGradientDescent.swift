import ExplanationCore
import Torch

/// Projected gradient descent on the negative loss (Madry et al. 2018, "Towards deep learning
/// models resistant to adversarial attacks"): from a random point of the ε-ball around each
/// input, `steps` steepest-ascent steps of the cross-entropy (sign steps for L∞, L2-normalised
/// steps for L2), each followed by projection onto the ball and the valid range.
public struct ProjectedGradientDescent: AdversarialAttack {
    public enum Norm: String, Sendable, CaseIterable { case lInfinity = "linf", l2 }

    public let model: Explainable
    public var norm: Norm
    public var epsilon: Double
    public var steps: Int
    /// Per step; nil means 2.5·ε / steps (Madry et al.'s rule: the walk can cross the ball).
    public var stepSize: Double?
    /// Start from a random point of the ball (L∞: uniform per value; L2: a uniformly random
    /// direction at a radius drawn uniformly from [0, ε], as torchattacks does), else from the input.
    public var randomStart = true
    public var seed: UInt64 = 0
    /// Offsets to start from instead of random draws (to replay another implementation's start).
    public var startingOffsets: Tensor?
    public var inputRange: ClosedRange<Double>

    public init(_ model: Explainable, norm: Norm = .lInfinity, epsilon: Double, steps: Int = 40, stepSize: Double? = nil,
                inputRange: ClosedRange<Double> = 0...1) {
        (self.model, self.norm, self.epsilon, self.steps, self.stepSize, self.inputRange) = (model, norm, epsilon, steps, stepSize, inputRange)
    }

    public var effectiveStepSize: Double { stepSize ?? 2.5 * epsilon / Double(max(steps, 1)) }

    public func perturb(_ inputs: Tensor, goal: AttackGoal) throws -> Tensor {
        guard epsilon >= 0, epsilon.isFinite else { throw TorchError("PGD needs ε ≥ 0, got \(epsilon)") }
        guard steps >= 1 else { throw TorchError("PGD needs at least 1 step, got \(steps)") }
        guard effectiveStepSize > 0, effectiveStepSize.isFinite else { throw TorchError("PGD needs a positive step size, got \(effectiveStepSize)") }
        try goal.validate(inputs, model: model, range: inputRange)
        let center = try inputs.detached()
        let range = InputOptimization.Constraint.range(low: inputRange.lowerBound, high: inputRange.upperBound)
        let step: InputOptimization.Step = norm == .lInfinity ? .signed(size: effectiveStepSize) : .normalized(size: effectiveStepSize)
        let loop = InputOptimization(goal.direction, step: step, steps: steps, constraints: [ball(around: center), range])
        var start = center
        if let offsets = try startingOffsets ?? (randomStart ? randomOffsets(like: center) : nil) {
            guard offsets.shape == center.shape else { throw TorchError("PGD starting offsets have shape \(offsets.shape), the inputs \(center.shape)") }
            start = try range.applied(to: ball(around: center.zerosLike()).applied(to: offsets.to(center.dtype)) + center)
        }
        return try firstOrderInputLoop(inputElements: start.count) { try loop.run(from: start, objective: { try goal.crossEntropy(model($0)) }) }
    }

    func ball(around center: Tensor) -> InputOptimization.Constraint {
        norm == .lInfinity ? .lInfinityBall(center: center, radius: epsilon) : .l2Ball(center: center, radius: epsilon)
    }

    /// Random offsets inside the ball.
    func randomOffsets(like x: Tensor) throws -> Tensor {
        let generator = Generator(seed: seed)
        switch norm {
        case .lInfinity:
            return try (Tensor.rand(x.shape, dtype: x.dtype, generator: generator) * 2.0 - 1.0) * epsilon
        case .l2:
            let direction = try Tensor.randn(x.shape, dtype: x.dtype, generator: generator)
            let lengths = try direction.flattened(from: 1).norm(dims: [1]).clamp(min: 1e-12)
            let radii = try Tensor.rand([x.shape[0]], dtype: x.dtype, generator: generator) * epsilon
            let rowShape = [-1] + Array(repeating: 1, count: x.rank - 1)
            return try direction * (radii / lengths).reshaped(rowShape)
        }
    }
}
