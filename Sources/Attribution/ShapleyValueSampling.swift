import NN
import ExplanationCore
import Torch

/// Shapley value sampling (Castro, Gómez & Tejada 2009; Štrumbelj & Kononenko 2010):
/// average each feature group's marginal contribution f(S ∪ {g}) − f(S) over random
/// orderings, starting from the baseline and revealing the input one group at a time.
///
/// The G + 1 inputs along one ordering are evaluated as one batch. Attributions sum
/// to f(x) − f(baseline) for every ordering (efficiency). `permutations` replaces the
/// seeded draws with given orderings.
public struct ShapleyValueSampling: AttributionMethod {
    public let model: Explainable
    public var baseline: Baseline = .zeros
    public var featureMask: Tensor?
    public var samples = 25
    public var seed: UInt64 = 0
    public var permutations: [[Int]]?
    public var perturbationsPerEvaluation: Int?
    public var name: String { "shapley-value-sampling" }

    public init(_ model: Explainable, baseline: Baseline = .zeros, featureMask: Tensor? = nil, samples: Int = 25, seed: UInt64 = 0) {
        self.model = model
        self.baseline = baseline
        self.featureMask = featureMask
        self.samples = samples
        self.seed = seed
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs, allowingIntegers: true)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let featureShape = Array(inputs.shape.dropFirst())
        let dtype = valueType(of: inputs)
        let groups = try FeatureGroups(featureMask, featureShape: featureShape, dtype: dtype)
        let g = groups.count
        let orderings: [[Int]]
        if let permutations {
            guard !permutations.isEmpty, permutations.allSatisfy({ $0.sorted() == Array(0..<g) }) else {
                throw TorchError("each given permutation must order the \(g) feature groups 0…\(g - 1)")
            }
            orderings = permutations
        } else {
            guard samples >= 1 else { throw TorchError("Shapley sampling needs at least one sample") }
            let generator = Generator(seed: seed)
            orderings = try (0..<samples).map { _ in try Tensor.randperm(g, generator: generator).scalars(as: Int64.self).map(Int.init) }
        }
        let reference = try baseline.resolve(for: inputs)
        let flatGroups = try groups.masks.reshaped([g, -1])
        var total = try Tensor.zeros([inputs.shape[0], g], dtype: dtype)
        for (done, order) in orderings.enumerated() {
            let placement = try Tensor(order, shape: [g]).oneHot(classes: g).to(dtype)  // row k: group order[k]
            let revealed = try Tensor.cat([Tensor.zeros([1, g], dtype: dtype), placement.cumsum(dim: 0)])
            let baselineMasks = try (1.0 - revealed.matmul(flatGroups)).reshaped([g + 1] + featureShape)
            let outputs = try ProgressObserver.quietly {
                try maskedOutputs(model, inputs: inputs, baseline: reference, masks: baselineMasks, targets: targets,
                                  batchSize: perturbationsPerEvaluation)
            }
            let marginal = try outputs.slice(dim: 1, start: 1, end: g + 1) - outputs.slice(dim: 1, start: 0, end: g)
            total = try total + marginal.matmul(placement)
            ProgressObserver.report("orderings", done: done + 1, of: orderings.count, unit: "orderings")
        }
        return AttributionResult(values: try groups.spread(total / Double(orderings.count), featureShape: featureShape))
    }
}
