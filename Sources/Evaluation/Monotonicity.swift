import ExplanationCore
import Torch

/// Monotonicity (Arya et al. 2019, as Quantus's Monotonicity): starting from the baseline,
/// features are added back in order of increasing attribution, `steps` chunks at a time;
/// the explanation is monotonic when the target probability never decreases. The score is
/// the fraction of steps that do not decrease it (1 is perfectly monotonic). Higher is better.
public struct Monotonicity: ExplanationMetric {
    public let name = "monotonicity"
    public let higherIsBetter = true
    public var steps = 28
    public var baseline: Baseline = .zeros

    public init(steps: Int = 28, baseline: Baseline = .zeros) {
        self.steps = steps
        self.baseline = baseline
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        let attribution = try explanation(method, inputs, target, attributions)
        // Insertion in increasing order of attribution is insertion of the negated map.
        var insertion = DeletionInsertion(.insertion, steps: steps, baseline: baseline)
        insertion.batchSize = 512
        let curve = try insertion.curves(method, inputs: inputs, target: target, attributions: -attribution)
        let increments = try curve.slice(dim: 1, start: 1, end: steps + 1) - curve.slice(dim: 1, start: 0, end: steps)
        return try increments.ge(-1e-7).to(.float64).mean(dims: [1])
    }
}
