import Torch

/// The soft-margin linear support vector machine (Cortes & Vapnik 1995): minimises
/// ½‖w‖² + C·Σ max(0, 1 − y(w·x + b)), the hinge loss, for two classes that need not be separable
/// (scikit-learn's `SVC(kernel="linear", C=…)`).
///
/// Solved in the dual, min ½αᵀQα − Σα over 0 ≤ α ≤ C with Σ α_i y_i = 0 (Q_ij = y_i y_j x_i·x_j),
/// by FISTA with the Euclidean projection onto that box-and-hyperplane set (bisection on the
/// hyperplane's multiplier); Qα is two matrix–vector products, so Q is never formed. The
/// approximate solution then names the free support vectors (0 < α < C), and the KKT equations on
/// them are solved exactly and checked (α within its box, margins on the right side).
public struct SoftMarginSVM {
    /// (features), float64.
    public let weights: Tensor
    public let bias: Double
    /// Samples with α > 0 (on or inside the margin), ascending.
    public let supportVectors: [Int]
    /// Dual coefficients α (samples), in [0, C].
    public let dualCoefficients: Tensor
    public let iterations: Int
    /// Whether the exact KKT solve confirmed the solution (otherwise it is FISTA's, accurate to its tolerance).
    public let exact: Bool

    public var parameterCount: Int { weights.count + 1 }

    public static func fit(_ data: LabelledFeatures, inverseStrength c: Double, maxIterations: Int = 50_000) throws -> SoftMarginSVM {
        guard data.classes == 2 else { throw TorchError("the SVM separates two classes; this data has \(data.classes)") }
        guard c > 0, c.isFinite else { throw TorchError("C must be positive and finite, got \(c)") }
        let x = try data.features.to(.float64)
        let y = try data.labels.to(.float64) * 2 - 1
        let counts = try data.classCounts()
        guard counts.allSatisfy({ $0 > 0 }) else { throw TorchError("both classes need at least one sample") }
        func qTimes(_ alpha: Tensor) throws -> Tensor { try x.matmul(x.t().matmul(alpha * y)) * y }
        let lipschitz = try Swift.max(x.svd().s.max().item(), 1e-12)
        let step = 1 / (lipschitz * lipschitz)
        var alpha = try Tensor.zeros([data.count], dtype: .float64), previous = alpha, point = alpha, momentum = 1.0
        var last: Solution?
        for iteration in 1...maxIterations {
            let gradient = try qTimes(point) - 1
            alpha = try projectOntoBoxAndHyperplane(point - gradient * step, signs: y, upper: c)
            let nextMomentum = (1 + (1 + 4 * momentum * momentum).squareRoot()) / 2
            point = try alpha + (alpha - previous) * ((momentum - 1) / nextMomentum)
            previous = alpha; momentum = nextMomentum
            guard iteration % 200 == 0 else { continue }
            if let solution = try polish(x: x, signs: y, alpha: alpha, upper: c) {
                return SoftMarginSVM(weights: solution.weights, bias: solution.bias, supportVectors: solution.support,
                                     dualCoefficients: solution.alpha, iterations: iteration, exact: true)
            }
            last = try approximate(x: x, signs: y, alpha: alpha, upper: c)
        }
        let fallback = try last ?? approximate(x: x, signs: y, alpha: alpha, upper: c)
        return SoftMarginSVM(weights: fallback.weights, bias: fallback.bias, supportVectors: fallback.support,
                             dualCoefficients: fallback.alpha, iterations: maxIterations, exact: false)
    }

    private struct Solution { let weights: Tensor; let bias: Double; let support: [Int]; let alpha: Tensor }

    /// w from α, b as the mean over free support vectors of y − w·x.
    private static func approximate(x: Tensor, signs: Tensor, alpha: Tensor, upper: Double) throws -> Solution {
        let weights = try x.t().matmul(alpha * signs)
        let free = try alpha.gt(1e-8 * upper).logicalAnd(alpha.lt(upper * (1 - 1e-8)))
        let residual = try signs - x.matmul(weights)
        let count = try free.to(.float64).sum().item()
        let bias = count > 0 ? try (residual * free.to(.float64)).sum().item() / count : try residual.mean().item()
        return Solution(weights: weights, bias: bias, support: try alpha.gt(1e-8 * upper).nonzeroIndices().scalars(as: Int64.self).map(Int.init), alpha: alpha)
    }

    /// Fixes α = C on the bounded set and α = 0 outside the support, solves the free set's margin
    /// equations with Σ α y = 0, and accepts the result only if it satisfies every KKT condition.
    private static func polish(x: Tensor, signs: Tensor, alpha: Tensor, upper: Double) throws -> Solution? {
        // Zero below a millionth of the largest α (C may be far above every α), bounded within a millionth of C.
        let floor = 1e-6 * Swift.max(try alpha.max().item(), 1e-300), ceiling = upper * (1 - 1e-6)
        let freeIndex = try alpha.gt(floor).logicalAnd(alpha.lt(ceiling)).nonzeroIndices()
        let bounded = try alpha.ge(ceiling).to(.float64)
        let m = freeIndex.count
        let fixed = try bounded * upper                                   // α on the bounded set, 0 elsewhere
        let fixedWeights = try x.t().matmul(fixed * signs)
        guard m >= 1 else { return try boundedOnly(x: x, signs: signs, alpha: fixed, weights: fixedWeights, bounded: bounded) }
        let s = try x.indexSelect(dim: 0, index: freeIndex), ys = try signs.indexSelect(dim: 0, index: freeIndex)
        // Unknowns α_F and b: y_i (Σ_F α_j y_j x_j·x_i + b) = 1 − y_i x_i·w_fixed; Σ_F α_j y_j = −Σ_B C y_j.
        let kernel = try s.matmul(s.t()) * ys.unsqueezed(dim: 1) * ys.unsqueezed(dim: 0)
        let system = try Tensor.cat([Tensor.cat([kernel, ys.unsqueezed(dim: 1)], dim: 1),
                                     Tensor.cat([ys.unsqueezed(dim: 0), Tensor.zeros([1, 1], dtype: .float64)], dim: 1)])
        let rightSide = try Tensor.cat([1 - ys * s.matmul(fixedWeights), (fixed * signs).sum().reshaped([1]) * -1]).unsqueezed(dim: 1)
        let solution = try system.leastSquares(rightSide).squeezed(dim: 1)
        let freeAlpha = try solution.slice(dim: 0, start: 0, end: m), bias = try solution[m].item()
        guard try freeAlpha.min().item() >= -1e-9 * Swift.max(try freeAlpha.abs().max().item(), 1e-300),
              try freeAlpha.max().item() <= upper * (1 + 1e-9) else { return nil }
        let full = try fixed.scatter(dim: 0, index: freeIndex, source: freeAlpha)
        let weights = try x.t().matmul(full * signs)
        let margins = try (x.matmul(weights) + bias) * signs
        // KKT: α = 0 ⇒ margin ≥ 1; 0 < α < C ⇒ margin = 1; α = C ⇒ margin ≤ 1.
        let zero = try full.le(0)
        let slack = 1e-7
        guard try (margins * zero.to(.float64) + zero.logicalNot().to(.float64) * 2).min().item() >= 1 - slack,
              try (margins * bounded - (1 - bounded) * 1e9).max().item() <= 1 + slack else { return nil }
        let support = try full.gt(0).nonzeroIndices().scalars(as: Int64.self).map(Int.init)
        return Solution(weights: weights, bias: bias, support: support, alpha: full)
    }

    /// No free support vector: w is fixed and b is any value meeting every margin condition; like
    /// libsvm, take the middle of that interval.
    private static func boundedOnly(x: Tensor, signs: Tensor, alpha: Tensor, weights: Tensor, bounded: Tensor) throws -> Solution? {
        guard try Swift.abs((alpha * signs).sum().item()) <= 1e-9 * Swift.max(try alpha.sum().item(), 1e-300) else { return nil }
        let f = try x.matmul(weights)
        // y(f + b) ≥ 1 where α = 0, ≤ 1 where α = C: each row bounds b from one side.
        let positive = try signs.gt(0).to(.float64), atBound = bounded
        let raisesLower = try (positive * (1 - atBound) + (1 - positive) * atBound).gt(0)
        let limit = try signs - f                                          // b = y − f makes the margin exactly 1
        let lower = try limit.maskedSelect(raisesLower), upper = try limit.maskedSelect(raisesLower.logicalNot())
        let low = lower.count > 0 ? try lower.max().item() : -Double.infinity
        let high = upper.count > 0 ? try upper.min().item() : Double.infinity
        guard low <= high + 1e-9, low.isFinite || high.isFinite else { return nil }
        let bias = low.isFinite && high.isFinite ? (low + high) / 2 : (low.isFinite ? low : high)
        return Solution(weights: weights, bias: bias, support: try alpha.gt(0).nonzeroIndices().scalars(as: Int64.self).map(Int.init), alpha: alpha)
    }

    public func decision(_ features: Tensor) throws -> Tensor {
        try checkedFeatures(features, count: weights.count, dtype: .float64).matmul(weights) + bias
    }

    public func predict(_ features: Tensor) throws -> Tensor { try decision(features).gt(0).to(.int64) }
}

/// Euclidean projection onto {0 ≤ α ≤ upper, Σ α_i y_i = 0} for signs y = ±1: α = clamp(v − λy, 0, upper)
/// with λ found by bisection (Σ y_i clamp(v_i − λ y_i) falls as λ grows).
func projectOntoBoxAndHyperplane(_ v: Tensor, signs: Tensor, upper: Double) throws -> Tensor {
    var low = try -(v.abs().max().item()) - upper, high = -low
    var projected = v
    for _ in 0..<60 {
        let middle = (low + high) / 2
        projected = try (v - signs * middle).clamp(min: 0, max: upper)
        if try (projected * signs).sum().item() > 0 { low = middle } else { high = middle }
    }
    return try (v - signs * ((low + high) / 2)).clamp(min: 0, max: upper)
}
