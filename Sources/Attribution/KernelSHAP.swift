import ExplanationCore
import Foundation
import Torch

/// KernelSHAP (Lundberg & Lee 2017): Shapley values estimated by a linear regression on
/// coalitions drawn from the Shapley kernel, (M − 1) / (C(M, k) · k · (M − k)).
///
/// As in Captum, the first two coalitions are all groups and none, the rest draw a
/// size k ∝ 1/(k(M − k)) and then a uniform subset of that size; `coalitions`
/// replaces the draws.
public struct KernelSHAP: AttributionMethod {
    public let model: Explainable
    public var baseline: Baseline = .zeros
    public var featureMask: Tensor?
    public var samples = 50
    public var seed: UInt64 = 0
    public var coalitions: Tensor?
    public var perturbationsPerEvaluation: Int?
    public var name: String { "kernel-shap" }

    public init(_ model: Explainable, baseline: Baseline = .zeros, featureMask: Tensor? = nil, samples: Int = 50, seed: UInt64 = 0) {
        self.model = model
        self.baseline = baseline
        self.featureMask = featureMask
        self.samples = samples
        self.seed = seed
    }

    /// Coalitions from the Shapley kernel: sizes by inverse-CDF sampling, members by the top k of Gaussian noise.
    func drawCoalitions(groups m: Int) throws -> Tensor {
        guard samples >= 2 else { throw TorchError("KernelSHAP needs at least 2 samples") }
        guard m >= 2 else { return try Tensor.cat([Tensor.ones([1, m]), Tensor.zeros([samples - 1, m])]) }
        let generator = Generator(seed: seed)
        let rest = samples - 2
        let sizeWeights = (1..<m).map { 1.0 / Double($0 * (m - $0)) }
        let total = sizeWeights.reduce(0, +)
        let cumulative = sizeWeights.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1 / total) }
        var rows = [try Tensor.ones([1, m]), try Tensor.zeros([1, m])]
        if rest > 0 {
            let uniforms = try Tensor.rand([rest], dtype: .float64, generator: generator).scalars(as: Double.self)
            let noise = try Tensor.randn([rest, m], generator: generator)
            let ranks = try noise.sorted(dim: 1, descending: true).indices.sorted(dim: 1).indices  // rank of each entry
            let sizes = uniforms.map { u in (cumulative.firstIndex { u <= $0 } ?? (m - 2)) + 1 }
            let threshold = try Tensor(sizes, shape: [rest, 1])
            rows.append(try ranks.lt(threshold).to(.float32))
        }
        return try Tensor.cat(rows)
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        // Token ids are fine: the Shapley kernel weighs coalitions by size alone, never by input distances.
        try validateInputs(inputs, allowingIntegers: true)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let groups = try FeatureGroups(featureMask, featureShape: Array(inputs.shape.dropFirst()), dtype: valueType(of: inputs)).count
        let z = try coalitions ?? drawCoalitions(groups: groups)
        let surrogate = LinearSurrogate(model: model, baseline: baseline, featureMask: featureMask, weighting: .shapley,
                                        ridge: 0, batchSize: perturbationsPerEvaluation)
        return AttributionResult(values: try surrogate.attribute(inputs, targets: targets, coalitions: z))
    }
}
