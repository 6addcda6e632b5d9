import ExplanationCore
import Torch

/// Non-sensitivity (Nguyen & Martínez 2020): zero attribution should go exactly to the
/// features the output does not depend on. Each feature is set to the baseline on its own;
/// the score counts features where "attribution ≈ 0" and "output unchanged" disagree.
/// Lower is better; 0 means zeros in the map are trustworthy.
public struct NonSensitivity: ExplanationMetric {
    public let name = "non-sensitivity"
    public let higherIsBetter = false
    public var baseline: Baseline = .zeros
    /// What counts as zero, for attributions and for output changes.
    public var tolerance = 1e-5
    public var batchSize = 512

    public init(baseline: Baseline = .zeros, tolerance: Double = 1e-5) {
        self.baseline = baseline
        self.tolerance = tolerance
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        let attribution = try explanation(method, inputs, target, attributions)
        // Single-feature ablation gives every feature's effect in batched forward calls.
        let targets = try resolveTargets(target, model: method.model, inputs: inputs)
        let effects = try ablationEffects(method.model, inputs: inputs, baseline: baseline, featureMask: nil, targets: targets,
                                          batchSize: batchSize)
        let zeroAttribution = try rows(attribution).abs().le(tolerance)
        let noEffect = try rows(effects).abs().le(tolerance)
        return try zeroAttribution.ne(noEffect).to(.float64).sum(dims: [1])
    }
}
