import ExplanationCore
import NN
import Torch

/// Training on adversarial inputs: each batch is replaced by attacks on the current model before
/// the loss. PGD (Madry et al. 2018: the inner maximisation of min_θ E max_{‖δ‖∞≤ε} L) or FGSM
/// from a random start with step 1.25ε (Wong, Rice & Kolter 2020, "Fast is better than free"),
/// which costs one extra forward and backward pass per batch instead of `steps`. ε can be ramped
/// up linearly over the first epochs (a warm-up, as in Gowal et al. 2018 and Wong et al. 2020's
/// MNIST runs): from the start at full ε, a PGD-trained CNN can settle on a near-constant output
/// whose loss no attack raises, and clean accuracy stalls.
public struct AdversarialTraining: Sendable, Codable, Equatable {
    public enum Method: String, Sendable, Codable, CaseIterable { case fgsm, pgd }

    public var method: Method
    public var epsilon: Double
    /// PGD's steps (FGSM takes one).
    public var steps: Int
    /// nil: 1.25ε for FGSM, 2.5ε/steps for PGD.
    public var stepSize: Double?
    /// Epochs over which ε grows linearly from 0 to `epsilon` (0: full ε from the start).
    public var warmUpEpochs: Double

    public init(method: Method, epsilon: Double, steps: Int = 10, stepSize: Double? = nil, warmUpEpochs: Double = 0) {
        (self.method, self.epsilon, self.steps, self.stepSize, self.warmUpEpochs) = (method, epsilon, steps, stepSize, warmUpEpochs)
    }

    /// The budget after `epochs` epochs of training (fractional within an epoch).
    public func epsilon(afterEpochs epochs: Double) -> Double {
        warmUpEpochs > 0 ? epsilon * Swift.min(1, Swift.max(0, epochs) / warmUpEpochs) : epsilon
    }

    public func validate() throws {
        guard epsilon > 0, epsilon < 1 else { throw TorchError("adversarial training needs ε in (0, 1), got \(epsilon)") }
        guard (1...1000).contains(steps) else { throw TorchError("adversarial training needs 1 to 1,000 PGD steps, got \(steps)") }
        if let stepSize, !(stepSize > 0 && stepSize.isFinite) { throw TorchError("the attack's step size must be positive") }
        guard warmUpEpochs >= 0, warmUpEpochs.isFinite else { throw TorchError("the ε warm-up must be a finite number of epochs ≥ 0, got \(warmUpEpochs)") }
    }

    /// Adversarial versions of a batch (pixels in [0, 1]) against `model`, in evaluation mode (no
    /// dropout while attacking, as torchattacks does), from a random start drawn with `generator`,
    /// with the budget of training's point `epochs` (see `warmUpEpochs`); the step size scales with it.
    public func adversarialBatch(_ x: Tensor, labels: Tensor, model: Module, generator: Generator, afterEpochs epochs: Double = .infinity) throws -> Tensor {
        let epsilon = self.epsilon(afterEpochs: epochs)
        guard epsilon > 0 else { return x }
        let scale = epsilon / self.epsilon
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let steps = method == .fgsm ? 1 : self.steps
        var attack = ProjectedGradientDescent(model, epsilon: epsilon, steps: steps,
                                              stepSize: stepSize.map { $0 * scale } ?? (method == .fgsm ? 1.25 * epsilon : 2.5 * epsilon / Double(steps)))
        attack.startingOffsets = try (Tensor.rand(x.shape, dtype: x.dtype, generator: generator) * 2.0 - 1.0) * epsilon
        return try attack.perturb(x, goal: .misclassify(labels: labels)).detached()
    }
}
