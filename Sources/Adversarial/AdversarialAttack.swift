import ExplanationCore
import Torch

/// An attack on a classifier: inputs in, adversarial inputs of the same shape out, inside the
/// valid input range. Natively built models and TorchScript models are attacked alike (only
/// input gradients are needed); the model is never changed.
public protocol AdversarialAttack {
    var model: Explainable { get }
    /// Adversarial versions of `inputs` (N, …) for `goal`.
    func perturb(_ inputs: Tensor, goal: AttackGoal) throws -> Tensor
}

extension AdversarialAttack {
    /// `perturb` over `batchSize` rows at a time (the attacks treat rows independently).
    public func perturb(_ inputs: Tensor, goal: AttackGoal, batchSize: Int) throws -> Tensor {
        let n = inputs.shape.first ?? 0
        guard n > batchSize else { return try perturb(inputs, goal: goal) }
        var parts: [Tensor] = []
        for start in stride(from: 0, to: n, by: max(1, batchSize)) {
            let range = start..<min(n, start + max(1, batchSize))
            parts.append(try perturb(inputs[range], goal: try goal.rows(range)))
        }
        return try Tensor.cat(parts)
    }
}

/// The per-row perturbation norms of adversarial inputs: L∞, L2 (N each, float64).
public func perturbationNorms(_ adversarial: Tensor, from inputs: Tensor) throws -> (lInfinity: Tensor, l2: Tensor) {
    let offset = try (adversarial.to(.float64) - inputs.to(.float64)).flattened(from: 1)
    return (try offset.abs().max(dims: [1]), try offset.norm(dims: [1]))
}
