import ExplanationCore
import Torch

/// Feature ablation: replace each feature group by the baseline and credit the group
/// with the drop in the target output, f(x) − f(x with the group ablated).
///
/// Groups come from `featureMask` (integers 0…G−1 with one input's shape, e.g.
/// superpixels); without one, every feature is its own group.
public struct FeatureAblation: AttributionMethod {
    public let model: Explainable
    public var baseline: Baseline = .zeros
    public var featureMask: Tensor?
    public var perturbationsPerEvaluation: Int?
    public var name: String { "feature-ablation" }

    public init(_ model: Explainable, baseline: Baseline = .zeros, featureMask: Tensor? = nil) {
        self.model = model
        self.baseline = baseline
        self.featureMask = featureMask
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs, allowingIntegers: true)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        return AttributionResult(values: try ablationEffects(model, inputs: inputs, baseline: baseline, featureMask: featureMask,
                                                             targets: targets, batchSize: perturbationsPerEvaluation))
    }
}
