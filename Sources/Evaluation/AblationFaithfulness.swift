import ExplanationCore
import Torch

/// The faithfulness measure of SENN (Alvarez-Melis & Jaakkola 2018): remove each feature
/// (or feature group, e.g. a concept or a superpixel) by setting it to the baseline, and
/// correlate the drops in the predicted class probability with the features' relevances.
/// Pearson correlation per example; 1 means relevance ranks effect exactly. Higher is better.
public struct AblationFaithfulness: ExplanationMetric {
    public let name = "ablation-faithfulness"
    public let higherIsBetter = true
    public var baseline: Baseline = .zeros
    /// Groups (integers 0…G−1 with one input's shape); nil removes features one at a time.
    public var featureMask: Tensor?
    public var batchSize = 512

    public init(baseline: Baseline = .zeros, featureMask: Tensor? = nil) {
        self.baseline = baseline
        self.featureMask = featureMask
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        let attribution = try explanation(method, inputs, target, attributions)
        let model = method.model
        let probabilities = ForwardFunction { try model($0).softmax(dim: 1) }
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        // Every feature of a group carries the group's drop; compare it with the group's total relevance.
        let drops = try ablationEffects(probabilities, inputs: inputs, baseline: baseline, featureMask: featureMask, targets: targets,
                                        batchSize: batchSize)
        if let featureMask {
            let grouping = try FeatureGroups(featureMask, featureShape: Array(inputs.shape.dropFirst()), dtype: .float64)
            let groups = try grouping.masks.reshaped([grouping.count, -1])
            let relevance = try rows(attribution).to(.float64).matmul(groups.t())
            let sizes = try groups.sum(dims: [1]).unsqueezed(dim: 0)
            let groupDrops = try rows(drops).to(.float64).matmul(groups.t()) / sizes
            return try Similarity.pearson(relevance, groupDrops)
        }
        return try Similarity.pearson(rows(attribution), rows(drops))
    }
}
