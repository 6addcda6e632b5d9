import ExplanationCore
import Foundation
import Torch

/// The common core of LIME and KernelSHAP: sample binary coalitions z over feature
/// groups, evaluate the model with absent groups set to the baseline, and fit a
/// weighted linear model y ≈ β₀ + Σ βᵢ zᵢ; the coefficients βᵢ are the groups' attributions.
///
/// The fit is weighted least squares on weighted-mean-centred data (with an optional
/// ridge penalty on β, not on β₀), solved by libtorch's SVD-based least-squares
/// routine: deterministic, no iterations, the minimum-norm β when underdetermined.
struct LinearSurrogate {
    enum Weighting {
        /// LIME: exp(−d²/(2w²)), d the cosine distance between input and perturbed input.
        case exponentialCosine(kernelWidth: Double)
        /// LIME on token ids: exp(−d²/(2w²)), d the cosine distance between the coalition and
        /// the all-present coalition, 1 − √(present / groups) (1 for the empty coalition).
        case coalitionCosine(kernelWidth: Double)
        /// KernelSHAP: samples are drawn from the Shapley kernel already; the empty and
        /// full coalitions get weight 10⁶ to pin the fit to f(baseline) and f(x), as Captum does.
        case shapley
    }

    let model: Explainable
    let baseline: Baseline
    let featureMask: Tensor?
    let weighting: Weighting
    let ridge: Double
    let batchSize: Int?

    /// coalitions: (S, G) 0/1 per example (the same for all examples here).
    func attribute(_ inputs: Tensor, targets: Tensor, coalitions: Tensor) throws -> Tensor {
        let featureShape = Array(inputs.shape.dropFirst())
        let dtype = valueType(of: inputs)
        let groups = try FeatureGroups(featureMask, featureShape: featureShape, dtype: dtype)
        let g = groups.count
        guard coalitions.rank == 2, coalitions.shape[1] == g else {
            throw TorchError("coalitions must be (samples, \(g)), got \(coalitions.shape)")
        }
        let s = coalitions.shape[0]
        let z = try coalitions.to(dtype)
        let reference = try baseline.resolve(for: inputs)
        let baselineMasks = try (1.0 - z.matmul(groups.masks.reshaped([g, -1]))).reshaped([s] + featureShape)
        // A coalition drawn more than once (the Shapley kernel favours the 2·G coalitions of
        // size 1 and G − 1) is evaluated once; every draw still counts in the fit.
        let (distinct, copies) = try distinctRows(coalitions)
        let outputs = try maskedOutputs(model, inputs: inputs, baseline: reference, masks: baselineMasks.indexSelect(dim: 0, index: distinct),
                                        targets: targets, batchSize: batchSize).indexSelect(dim: 1, index: copies)
        let design = try z.to(.float64)
        var coefficients: [Tensor] = []
        for row in 0..<inputs.shape[0] {
            let weights = try sampleWeights(input: inputs[row], reference: reference[row], baselineMasks: baselineMasks, coalitions: z).to(.float64)
            let y = try outputs[row].to(.float64)
            // Centre by the weighted means so the intercept is not part of the fit (as
            // scikit-learn's LinearRegression): with fewer samples than groups, the
            // least-squares routine then returns the minimum-norm β.
            let total = try weights.sum()
            let meanZ = try (design * weights.unsqueezed(dim: 1)).sum(dims: [0], keepDims: true) / total
            let meanY = try (y * weights).sum() / total
            let root = try weights.sqrt().unsqueezed(dim: 1)
            var a = try (design - meanZ) * root
            var b = try (y - meanY).unsqueezed(dim: 1) * root
            if ridge > 0 {
                a = try Tensor.cat([a, Tensor.eye(g, dtype: .float64) * Foundation.sqrt(ridge)])
                b = try Tensor.cat([b, Tensor.zeros([g, 1], dtype: .float64)])
            }
            coefficients.append(try a.leastSquares(b).squeezed(dim: 1).to(dtype))
        }
        return try groups.spread(Tensor.stack(coefficients), featureShape: featureShape)
    }

    /// The first row of each distinct coalition, and for every row the position of its coalition among those.
    func distinctRows(_ coalitions: Tensor) throws -> (distinct: Tensor, copies: Tensor) {
        let g = coalitions.shape[1]
        let values = try coalitions.to(.float32).contiguous().scalars(as: Float.self)
        var position: [[Float]: Int] = [:]
        var distinct: [Int64] = [], copies: [Int64] = []
        for row in 0..<coalitions.shape[0] {
            let key = Array(values[(row * g)..<((row + 1) * g)])
            if let known = position[key] {
                copies.append(Int64(known))
            } else {
                position[key] = distinct.count
                copies.append(Int64(distinct.count))
                distinct.append(Int64(row))
            }
        }
        return (try Tensor(distinct, shape: [distinct.count]), try Tensor(copies, shape: [copies.count]))
    }

    func sampleWeights(input: Tensor, reference: Tensor, baselineMasks: Tensor, coalitions: Tensor) throws -> Tensor {
        switch weighting {
        case .shapley:
            let sizes = try coalitions.sum(dims: [1])
            let extreme = try sizes.eq(0).logicalOr(sizes.eq(Double(coalitions.shape[1])))
            return try Tensor.where(extreme, Tensor.full([coalitions.shape[0]], value: 1e6), Tensor.ones([coalitions.shape[0]]))
        case .exponentialCosine(let width):
            let x = try input.reshaped([1, -1]).to(.float64)
            let perturbed = try (input.unsqueezed(dim: 0) + (reference - input).unsqueezed(dim: 0) * baselineMasks)
                .reshaped([baselineMasks.shape[0], -1]).to(.float64)
            let cosine = try (perturbed * x).sum(dims: [1]) / (perturbed.norm(dims: [1]) * x.norm()).clamp(min: 1e-8)
            let distance = try 1.0 - cosine
            return try (distance.square() * (-1 / (2 * width * width))).exp()
        case .coalitionCosine(let width):
            let distance = try 1.0 - (coalitions.sum(dims: [1]).to(.float64) / Double(coalitions.shape[1])).sqrt()
            return try (distance.square() * (-1 / (2 * width * width))).exp()
        }
    }
}
