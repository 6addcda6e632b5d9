import NN
import Torch

/// SENN's training objective: classification + λ·L_θ (robustness) + ξ·reconstruction +
/// ζ·sparsity (mean |h|). All four terms count; the authors' released trainer dropped the
/// last two when the robustness term was on, which this does not copy.
public struct SENNObjective {
    /// What the robustness term penalises.
    public enum RobustnessPenalty: String, CaseIterable, Sendable {
        /// The paper's L_θ = ‖∇ₓf − θᵀJₓh‖ (`SENN.robustnessLoss`).
        case gradientConsistency = "gradient"
        /// ‖Jₓθ‖_F, the relevances' own sensitivity (`SENN.relevanceJacobianPenalty`).
        case relevanceJacobian = "jacobian"
    }

    public var robustness: Double
    public var penalty = RobustnessPenalty.gradientConsistency
    public var reconstruction: Double
    public var sparsity: Double
    /// Whether L_θ is computed exactly (a backward pass per concept and class) or by a
    /// random class projection (one pass; see `SENN.robustnessLoss`).
    public var exactRobustness = false
    /// L_θ is evaluated on at most this many examples of each (shuffled) batch: an unbiased
    /// estimate of the batch mean at a fraction of the double-backprop cost. nil uses all.
    public var robustnessExamples: Int? = nil

    /// The terms of one evaluation, for logging.
    public struct Terms {
        public let total: Tensor
        public let classification: Double
        public let robustness: Double
        public let reconstruction: Double
        public let sparsity: Double
    }

    /// λ, ξ, ζ; the defaults are the authors' MNIST settings (λ 1e-2, sparsity 1e-4) with ξ = 1.
    public init(robustness: Double = 1e-2, reconstruction: Double = 1, sparsity: Double = 1e-4) {
        self.robustness = robustness
        self.reconstruction = reconstruction
        self.sparsity = sparsity
    }

    /// The objective on one batch; `generator` draws the projections of L_θ unless it is exact.
    public func evaluate(_ model: SENN, inputs: Tensor, targets: Tensor, generator: Generator) throws -> (Terms, logits: Tensor) {
        let output = try model.explain(inputs)
        let classification = try Functional.crossEntropy(output.logits, target: targets)
        var total = classification
        var robustnessValue = 0.0, reconstructionValue = 0.0
        if robustness > 0 {
            let count = min(inputs.shape[0], robustnessExamples ?? inputs.shape[0])
            let subset = try inputs.slice(dim: 0, start: 0, end: count), directions = exactRobustness ? nil : generator
            let term = try penalty == .gradientConsistency
                ? model.robustnessLoss(subset, directions: directions)
                : model.relevanceJacobianPenalty(subset, directions: directions)
            robustnessValue = try term.item()
            total = try total + term * robustness
        }
        if reconstruction > 0, let autoencoder = model.conceptizer as? ConceptAutoencoder {
            let term = try Functional.mseLoss(autoencoder.reconstruct(concepts: output.concepts, like: inputs), target: inputs)
            reconstructionValue = try term.item()
            total = try total + term * reconstruction
        }
        let sparsityTerm = try output.concepts.abs().mean()
        if sparsity > 0 { total = try total + sparsityTerm * sparsity }
        let terms = Terms(total: total, classification: try classification.item(), robustness: robustnessValue,
                          reconstruction: reconstructionValue, sparsity: try sparsityTerm.item())
        return (terms, output.logits)
    }
}
