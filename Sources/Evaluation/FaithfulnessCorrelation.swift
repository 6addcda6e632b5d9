import ExplanationCore
import Torch

/// Faithfulness correlation (Bhatt, Weller & Moura 2020): over `runs` random subsets of
/// `subsetSize` features, the Pearson correlation between the attribution summed over
/// the subset and the drop in the target output when the subset is set to the baseline.
/// 1 means the attributions predict the effect of removing features. Higher is better.
public struct FaithfulnessCorrelation: ExplanationMetric {
    public let name = "faithfulness-correlation"
    public let higherIsBetter = true
    public var runs = 100
    public var subsetSize = 32
    public var baseline: Baseline = .zeros
    public var seed: UInt64 = 0
    /// Given subsets as (runs, features…) 0/1 masks instead of seeded draws.
    public var subsets: Tensor?
    public var batchSize = 512

    public init(runs: Int = 100, subsetSize: Int = 32, baseline: Baseline = .zeros, seed: UInt64 = 0) {
        self.runs = runs
        self.subsetSize = subsetSize
        self.baseline = baseline
        self.seed = seed
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        let attribution = try explanation(method, inputs, target, attributions)
        let model = method.model
        let featureShape = Array(inputs.shape.dropFirst())
        let f = featureShape.reduce(1, *)
        let masks: Tensor
        if let subsets {
            guard subsets.shape.count == featureShape.count + 1, Array(subsets.shape.dropFirst()) == featureShape else {
                throw TorchError("subsets have shape \(subsets.shape), expected (runs, \(featureShape))")
            }
            masks = try subsets.to(inputs.dtype).reshaped([subsets.shape[0], f])
        } else {
            guard (1...f).contains(subsetSize), runs >= 2 else {
                throw TorchError("faithfulness correlation needs 2+ runs and a subset size in 1…\(f)")
            }
            // A random subset per run: the `subsetSize` smallest of uniform draws.
            let draws = try Tensor.rand([runs, f], generator: Generator(seed: seed))
            let chosen = try draws.topk(subsetSize, dim: 1, largest: false).indices
            masks = try Tensor.zeros([runs, f], dtype: inputs.dtype).scatter(dim: 1, index: chosen, source: chosen.onesLike().to(inputs.dtype))
        }
        let r = masks.shape[0]
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let reference = try baseline.resolve(for: inputs)
        let original = try targetOutputs(model, inputs, targets: targets, batchSize: batchSize)
        let perturbed = try maskedOutputs(model, inputs: inputs, baseline: reference, masks: masks.reshaped([r] + featureShape),
                                          targets: targets, batchSize: batchSize)
        let drops = try original.unsqueezed(dim: 1) - perturbed
        let sums = try rows(attribution).matmul(masks.t())
        return try Similarity.pearson(sums, drops)
    }
}
