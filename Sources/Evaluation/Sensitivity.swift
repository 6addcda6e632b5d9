import ExplanationCore
import Torch

/// Max- and average-sensitivity (Yeh et al. 2019), as Captum's `sensitivity_max`: how
/// much the explanation moves, relative to its norm, when the input moves by uniform
/// noise in an L∞ ball of `radius`: max (or mean) over samples of
/// ‖e(x′) − e(x)‖ / ‖e(x)‖. Lower is better.
public struct Sensitivity: ExplanationMetric {
    public enum Aggregation: String, Sendable { case max, average }

    public var aggregation: Aggregation = .max
    public var samples = 10
    public var radius = 0.02
    public var seed: UInt64 = 0
    /// Given noise (N · samples, …), example-major, instead of seeded draws.
    public var noise: Tensor?
    public var name: String { aggregation == .max ? "max-sensitivity" : "avg-sensitivity" }
    public let higherIsBetter = false

    public init(_ aggregation: Aggregation = .max, samples: Int = 10, radius: Double = 0.02, seed: UInt64 = 0) {
        self.aggregation = aggregation
        self.samples = samples
        self.radius = radius
        self.seed = seed
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        let attribution = try explanation(method, inputs, target, attributions)
        let (perturbedExplanations, _) = try explanationsNearby(method, inputs: inputs, target: target, noise: noise,
                                                               samples: samples, radius: radius, seed: seed)
        let n = inputs.shape[0]
        let reference = try rows(attribution).unsqueezed(dim: 1)
        let moved = try (rows(perturbedExplanations).reshaped([n, samples, -1]) - reference).norm(dims: [2])
        let scale = try reference.squeezed(dim: 1).norm(dims: [1], keepDims: true)
        let relative = try moved / Tensor.where(scale.eq(0), scale.onesLike(), scale)
        return try (aggregation == .max ? relative.max(dims: [1]) : relative.mean(dims: [1])).to(.float64)
    }
}

/// Explanations at `samples` points per example drawn uniformly from the L∞ ball of `radius`
/// (or at x + `noise`), for the classes explained at x; also returns the noise.
func explanationsNearby(_ method: AttributionMethod, inputs: Tensor, target: Target, noise given: Tensor?, samples: Int,
                        radius: Double, seed: UInt64) throws -> (Tensor, Tensor) {
    guard samples >= 1 else { throw TorchError("needs at least one perturbation sample") }
    let n = inputs.shape[0], featureShape = Array(inputs.shape.dropFirst())
    let noise: Tensor
    if let given {
        guard given.shape == [n * samples] + featureShape else {
            throw TorchError("noise has shape \(given.shape), expected \([n * samples] + featureShape)")
        }
        noise = try given.to(inputs.dtype)
    } else {
        noise = try (Tensor.rand([n * samples] + featureShape, dtype: inputs.dtype, generator: Generator(seed: seed)) * 2.0 - 1.0) * radius
    }
    let targets = try resolveTargets(target, model: method.model, inputs: inputs).scalars(as: Int64.self).map { Int($0) }
    let repeated = try inputs.repeatingRows(samples)
    let perturbedTargets = targets.flatMap { Array(repeating: $0, count: samples) }
    return (try method.attribute(repeated + noise, target: .indices(perturbedTargets)).values, noise)
}
