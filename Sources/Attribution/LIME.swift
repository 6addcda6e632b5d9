import ExplanationCore
import Torch

/// LIME (Ribeiro, Singh & Guestrin 2016): a weighted linear surrogate fitted to the model
/// on random coalitions of feature groups, weighted by similarity to the input.
///
/// Coalitions are Bernoulli(½) per group from a generator seeded with `seed`, or the
/// given `coalitions` (samples × groups, 0/1). The similarity kernel is Captum's
/// default, exp(−d²/(2·width²)) of the cosine distance. The surrogate is a weighted
/// linear regression (Captum's default is a Lasso with α = 0.01; set `ridge` for a
/// penalised fit).
public struct LIME: AttributionMethod {
    public let model: Explainable
    public var baseline: Baseline = .zeros
    public var featureMask: Tensor?
    public var samples = 50
    public var kernelWidth = 1.0
    public var ridge = 0.0
    public var seed: UInt64 = 0
    public var coalitions: Tensor?
    public var perturbationsPerEvaluation: Int?
    public var name: String { "lime" }

    public init(_ model: Explainable, baseline: Baseline = .zeros, featureMask: Tensor? = nil, samples: Int = 50, seed: UInt64 = 0) {
        self.model = model
        self.baseline = baseline
        self.featureMask = featureMask
        self.samples = samples
        self.seed = seed
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let groups = try FeatureGroups(featureMask, featureShape: Array(inputs.shape.dropFirst()), dtype: inputs.dtype).count
        let z = try coalitions ?? Tensor.full([samples, groups], value: 0.5).bernoulli(generator: Generator(seed: seed))
        let surrogate = LinearSurrogate(model: model, baseline: baseline, featureMask: featureMask,
                                        weighting: .exponentialCosine(kernelWidth: kernelWidth), ridge: ridge,
                                        batchSize: perturbationsPerEvaluation)
        return AttributionResult(values: try surrogate.attribute(inputs, targets: targets, coalitions: z))
    }
}
