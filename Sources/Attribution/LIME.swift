import ExplanationCore
import Torch

/// LIME (Ribeiro, Singh & Guestrin 2016): a weighted linear surrogate fitted to the model
/// on random coalitions of feature groups, weighted by similarity to the input.
///
/// Coalitions are Bernoulli(½) per group from a generator seeded with `seed`, or the
/// given `coalitions` (samples × groups, 0/1). The similarity kernel is Captum's
/// default, exp(−d²/(2·width²)) of the cosine distance between the input and the
/// perturbed input. Token ids have no meaningful distance, so for integer inputs d is
/// the cosine distance between the coalition and the all-present one, as the LIME
/// package's text explainer measures it (its width 25 on distances × 100 is width 0.25
/// here). The surrogate is a weighted linear regression (Captum's default is a Lasso
/// with α = 0.01; set `ridge` for a penalised fit).
public struct LIME: AttributionMethod {
    public let model: Explainable
    public var baseline: Baseline = .zeros
    public var featureMask: Tensor?
    public var samples = 50
    /// nil: `defaultKernelWidth` for feature values, `tokenKernelWidth` for token ids.
    public var kernelWidth: Double?
    public var ridge = 0.0
    public var seed: UInt64 = 0
    public var coalitions: Tensor?
    public var perturbationsPerEvaluation: Int?
    public var name: String { "lime" }
    /// Captum's default width on input cosine distances.
    public static let defaultKernelWidth = 1.0
    /// The LIME package's text default (Ribeiro et al. 2016's code) on coalition cosine distances.
    public static let tokenKernelWidth = 0.25

    public init(_ model: Explainable, baseline: Baseline = .zeros, featureMask: Tensor? = nil, samples: Int = 50, seed: UInt64 = 0) {
        self.model = model
        self.baseline = baseline
        self.featureMask = featureMask
        self.samples = samples
        self.seed = seed
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs, allowingIntegers: true)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let groups = try FeatureGroups(featureMask, featureShape: Array(inputs.shape.dropFirst()), dtype: valueType(of: inputs)).count
        let z = try coalitions ?? Tensor.full([samples, groups], value: 0.5).bernoulli(generator: Generator(seed: seed))
        let weighting: LinearSurrogate.Weighting = inputs.dtype.isFloatingPoint
            ? .exponentialCosine(kernelWidth: kernelWidth ?? Self.defaultKernelWidth)
            : .coalitionCosine(kernelWidth: kernelWidth ?? Self.tokenKernelWidth)
        let surrogate = LinearSurrogate(model: model, baseline: baseline, featureMask: featureMask, weighting: weighting,
                                        ridge: ridge, batchSize: perturbationsPerEvaluation)
        return AttributionResult(values: try surrogate.attribute(inputs, targets: targets, coalitions: z))
    }
}
