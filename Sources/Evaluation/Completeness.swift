import ExplanationCore
import Torch

/// Completeness (Sundararajan et al. 2017): |Σ attributions − (f(x) − f(baseline))| for the
/// target output. 0 for methods that satisfy the axiom (Integrated Gradients in the limit,
/// Shapley values); lower is better.
public struct Completeness: ExplanationMetric {
    public let name = "completeness"
    public let higherIsBetter = false
    public var baseline: Baseline = .zeros

    public init(baseline: Baseline = .zeros) {
        self.baseline = baseline
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        let attribution = try explanation(method, inputs, target, attributions)
        let targets = try resolveTargets(target, model: method.model, inputs: inputs)
        let difference = try targetOutputs(method.model, inputs, targets: targets, batchSize: 512)
            - targetOutputs(method.model, baseline.resolve(for: inputs), targets: targets, batchSize: 512)
        return try (rows(attribution).sum(dims: [1]) - difference).abs().to(.float64)
    }
}
