import ExplanationCore
import NN
import Torch

/// Training on adversarial inputs: each batch is replaced by attacks on the current model before
/// the loss. PGD (Madry et al. 2018: the inner maximisation of min_θ E max_{‖δ‖∞≤ε} L) or FGSM
/// from a random start with step 1.25ε (Wong, Rice & Kolter 2020, "Fast is better than free"),
/// which costs one extra forward and backward pass per batch instead of `steps`.
public struct AdversarialTraining: Sendable, Codable, Equatable {
    public enum Method: String, Sendable, Codable, CaseIterable { case fgsm, pgd }

    public var method: Method
    public var epsilon: Double
    /// PGD's steps (FGSM takes one).
    public var steps: Int
    /// nil: 1.25ε for FGSM, 2.5ε/steps for PGD.
    public var stepSize: Double?

    public init(method: Method, epsilon: Double, steps: Int = 10, stepSize: Double? = nil) {
        (self.method, self.epsilon, self.steps, self.stepSize) = (method, epsilon, steps, stepSize)
    }

    public func validate() throws {
        guard epsilon > 0, epsilon < 1 else { throw TorchError("adversarial training needs ε in (0, 1), got \(epsilon)") }
        guard (1...1000).contains(steps) else { throw TorchError("adversarial training needs 1 to 1,000 PGD steps, got \(steps)") }
        if let stepSize, !(stepSize > 0 && stepSize.isFinite) { throw TorchError("the attack's step size must be positive") }
    }

    /// Adversarial versions of a batch (pixels in [0, 1]) against `model`, in evaluation mode (no
    /// dropout while attacking, as torchattacks does), from a random start drawn with `generator`.
    public func adversarialBatch(_ x: Tensor, labels: Tensor, model: Module, generator: Generator) throws -> Tensor {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let steps = method == .fgsm ? 1 : self.steps
        var attack = ProjectedGradientDescent(model, epsilon: epsilon, steps: steps,
                                              stepSize: stepSize ?? (method == .fgsm ? 1.25 * epsilon : 2.5 * epsilon / Double(steps)))
        attack.startingOffsets = try (Tensor.rand(x.shape, dtype: x.dtype, generator: generator) * 2.0 - 1.0) * epsilon
        return try attack.perturb(x, goal: .misclassify(labels: labels)).detached()
    }
}
