import ExplanationCore
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

extension LocalLipschitz {
    /// The gradient-ascent estimate of SENN: start from `samples` points in the L∞ ball and
    /// climb ‖e(x′) − e(x)‖₂ / ‖x′ − x‖₂ by signed gradient steps, projecting back into the
    /// ball; the largest ratio seen (including the starting points) is the estimate, so it is
    /// never below the sampling estimate from the same points.
    ///
    /// `explanation` maps a batch to its explanations and must be differentiable in its input
    /// (SENN's relevances θ(x), or an input gradient computed with `createGraph`).
    ///
    /// With `representation`, distances are measured there instead of in input space:
    /// ‖e(x′) − e(x)‖ / ‖r(x′) − r(x)‖, SENN's "locally difference-bounded by h" (Definition
    /// 3.2 of Alvarez-Melis & Jaakkola 2018) when r is the concept encoder h.
    public func gradientAscent(_ explanation: (Tensor) throws -> Tensor, inputs: Tensor, steps: Int = 20,
                               stepSize: Double? = nil, representation: ((Tensor) throws -> Tensor)? = nil) throws -> Tensor {
        let n = inputs.shape[0], featureShape = Array(inputs.shape.dropFirst())
        let reference = try explanation(inputs).detached()
        let representationCenters = try representation.map { try rows($0(inputs)).detached().repeatingRows(samples) }
        let start = try noise ?? (Tensor.rand([n * samples] + featureShape, dtype: inputs.dtype, generator: Generator(seed: seed)) * 2.0 - 1.0) * radius
        let center = try inputs.repeatingRows(samples)
        let references = try rows(reference).repeatingRows(samples)
        // The variable is the offset from the centre, kept in [−radius, radius] (the L∞ ball).
        let ascent = InputOptimization(.ascent, step: .signed(size: stepSize ?? radius / 4), steps: steps,
                                       constraints: [.range(low: -radius, high: radius)])
        var best = try Tensor.zeros([n * samples], dtype: .float64)
        try ascent.run(from: start, objective: { offset in
            let point = try center + offset
            let moved = try (rows(explanation(point)) - references).norm(dims: [1])
            let distance: Tensor
            if let representation, let representationCenters {
                distance = try (rows(representation(point)) - representationCenters).norm(dims: [1])
            } else {
                distance = try rows(point - center).norm(dims: [1])
            }
            return try moved / distance.clamp(min: 1e-12)
        }, observe: { _, ratio in best = try Tensor.maximum(best, ratio.to(.float64)) })
        return try best.reshaped([n, samples]).max(dims: [1])
    }

    /// An input-gradient explanation that can itself be differentiated (double backprop).
    public static func differentiableGradient(_ model: Explainable, target: Int) -> (Tensor) throws -> Tensor {
        { x in
            let input = x.requiresGrad ? x : try x.detached().requiringGrad()
            let selected = try withGrad { try model(input).select(dim: 1, index: target).sum() }
            return try Tensor.grad(of: selected, wrt: input, createGraph: true)
        }
    }
}
