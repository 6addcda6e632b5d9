import Attribution
import Torch

/// Local Lipschitz estimate of an explanation (Alvarez-Melis & Jaakkola 2018, SENN):
/// max over points x′ sampled uniformly in the L∞ ball of `radius` around x of
/// ‖e(x) − e(x′)‖₂ / ‖x − x′‖₂. Lower means a more stable explanation.
public struct LocalLipschitz: ExplanationMetric {
    public let name = "local-lipschitz"
    public let higherIsBetter = false
    public var samples = 20
    public var radius = 0.1
    public var seed: UInt64 = 0
    public var noise: Tensor?

    public init(samples: Int = 20, radius: Double = 0.1, seed: UInt64 = 0) {
        self.samples = samples
        self.radius = radius
        self.seed = seed
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        let attribution = try explanation(method, inputs, target, attributions)
        let (nearby, noise) = try explanationsNearby(method, inputs: inputs, target: target, noise: noise, samples: samples,
                                                     radius: radius, seed: seed)
        let n = inputs.shape[0]
        let change = try (rows(nearby).reshaped([n, samples, -1]) - rows(attribution).unsqueezed(dim: 1)).norm(dims: [2])
        let distance = try rows(noise).reshaped([n, samples, -1]).norm(dims: [2]).clamp(min: 1e-12)
        return try (change / distance).max(dims: [1]).to(.float64)
    }
}
