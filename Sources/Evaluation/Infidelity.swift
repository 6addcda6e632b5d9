import ExplanationCore
import Torch

/// Explanation infidelity (Yeh et al. 2019), as Captum's `infidelity`: the mean over
/// random perturbations I of (Iᵀ·attribution − (f(x) − f(x − I)))², with I Gaussian of
/// standard deviation `standardDeviation`. With `normalize`, the attributions are first
/// scaled by the β that minimises the error. Lower is better.
public struct Infidelity: ExplanationMetric {
    public let name = "infidelity"
    public let higherIsBetter = false
    public var samples = 10
    public var standardDeviation = 0.003
    public var normalize = false
    public var seed: UInt64 = 0
    /// Given perturbations (N · samples, …), example-major, instead of seeded draws.
    public var perturbations: Tensor?

    public init(samples: Int = 10, standardDeviation: Double = 0.003, normalize: Bool = false, seed: UInt64 = 0) {
        self.samples = samples
        self.standardDeviation = standardDeviation
        self.normalize = normalize
        self.seed = seed
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        let attribution = try explanation(method, inputs, target, attributions)
        let model = method.model
        let n = inputs.shape[0], featureShape = Array(inputs.shape.dropFirst())
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let noise: Tensor
        if let perturbations {
            guard perturbations.shape == [n * samples] + featureShape else {
                throw TorchError("perturbations have shape \(perturbations.shape), expected \([n * samples] + featureShape)")
            }
            noise = try perturbations.to(inputs.dtype)
        } else {
            noise = try Tensor.randn([n * samples] + featureShape, dtype: inputs.dtype, generator: Generator(seed: seed)) * standardDeviation
        }
        let repeatedInputs = try inputs.repeatingRows(samples)
        let repeatedTargets = try targets.repeatingRows(samples)
        let perturbed = try targetOutputs(model, repeatedInputs - noise, targets: repeatedTargets, batchSize: 512).reshaped([n, samples])
        let original = try targetOutputs(model, inputs, targets: targets, batchSize: 512).unsqueezed(dim: 1)
        let drops = try (original - perturbed).to(.float64)
        let predicted = try (rows(noise).reshaped([n, samples, -1]) * rows(attribution).unsqueezed(dim: 1)).sum(dims: [2]).to(.float64)
        if normalize {
            let beta = try (predicted * drops).sum(dims: [1]) / predicted.square().sum(dims: [1]).clamp(min: 1e-300)
            return try ((predicted * beta.unsqueezed(dim: 1) - drops).square().sum(dims: [1])) / Double(samples)
        }
        return try (predicted - drops).square().sum(dims: [1]) / Double(samples)
    }
}
