import Torch

/// The hard-margin linear support vector machine for two linearly separable classes (Vapnik 1995):
/// the unique hyperplane w·x + b = 0 with the widest margin, y(w·x + b) ≥ 1 for every sample.
///
/// Solved through its geometric dual (Bennett & Bredensteiner 2000): the closest points u and v of
/// the two classes' convex hulls give w = 2(u − v)/‖u − v‖² and b = −w·(u + v)/2. FISTA with
/// Euclidean projections onto the simplices (Duchi et al. 2008) finds the support vectors; the
/// KKT equations on them are then solved exactly, and the result is checked against every sample.
/// Data that is not separable (the hulls touch) is an error: there is no hard margin.
public struct HardMarginSVM {
    /// (features), float64.
    public let weights: Tensor
    public let bias: Double
    /// Indices of the support vectors (samples on the margin), ascending.
    public let supportVectors: [Int]
    public let iterations: Int

    /// The margin's half-width, 1/‖w‖.
    public var margin: Double { get throws { 1 / (try weights.norm().item()) } }
    public var parameterCount: Int { weights.count + 1 }

    public static func fit(_ data: LabelledFeatures, maxIterations: Int = 100_000) throws -> HardMarginSVM {
        guard data.classes == 2 else { throw TorchError("the hard-margin SVM separates two classes; this data has \(data.classes)") }
        let x = try data.features.to(.float64)
        let signs = try data.labels.to(.float64) * 2 - 1
        let positive = try data.labels.eq(1), negative = try data.labels.eq(0)
        let p = try x.indexSelect(dim: 0, index: positive.nonzeroIndices()), q = try x.indexSelect(dim: 0, index: negative.nonzeroIndices())
        guard p.shape[0] > 0, q.shape[0] > 0 else { throw TorchError("both classes need at least one sample") }
        // Lipschitz constant of the dual's gradient: the squared spectral norm of [P; Q].
        let lipschitz = try Swift.max(Tensor.cat([p, q]).svd().s.max().item(), 1e-12)
        let lipschitzSquared = lipschitz * lipschitz
        var a = try Tensor.full([p.shape[0]], value: 1 / Double(p.shape[0]), dtype: .float64)
        var c = try Tensor.full([q.shape[0]], value: 1 / Double(q.shape[0]), dtype: .float64)
        var previous = (a, c), momentum = 1.0, ya = a, yc = c
        var lastPolishFailure: String?
        for iteration in 1...maxIterations {
            let gap = try p.t().matmul(ya) - q.t().matmul(yc)
            a = try projectOntoSimplex(ya - p.matmul(gap) / lipschitzSquared)
            c = try projectOntoSimplex(yc + q.matmul(gap) / lipschitzSquared)
            let nextMomentum = (1 + (1 + 4 * momentum * momentum).squareRoot()) / 2
            let factor = (momentum - 1) / nextMomentum
            ya = try a + (a - previous.0) * factor
            yc = try c + (c - previous.1) * factor
            previous = (a, c); momentum = nextMomentum
            guard iteration % 100 == 0 else { continue }
            let difference = try p.t().matmul(a) - q.t().matmul(c)
            let squaredDistance = try (difference * difference).sum().item()
            guard squaredDistance > 1e-18 else {
                throw TorchError("the two classes are not linearly separable (their convex hulls touch), so there is no hard margin")
            }
            let w = try difference * (2 / squaredDistance)
            let b = try -(w.dot(p.t().matmul(a) + q.t().matmul(c))) / 2
            let margins = try (x.matmul(w) + b) * signs
            let candidates = try margins.le(1 + 1e-3).nonzeroIndices().scalars(as: Int64.self).map(Int.init)
            switch try polish(x: x, signs: signs, support: candidates) {
            case .success(let solution):
                return HardMarginSVM(weights: solution.weights, bias: solution.bias, supportVectors: solution.support, iterations: iteration)
            case .failure(let error): lastPolishFailure = error.why
            }
        }
        throw TorchError("the hard-margin SVM did not converge in \(maxIterations) iterations\(lastPolishFailure.map { " (\($0))" } ?? "")")
    }

    private struct Solution { let weights: Tensor; let bias: Double; let support: [Int] }

    /// Solves y_i(w·x_i + b) = 1 on a working set of support vectors for the smallest w, then drops the most negative α or adds the worst margin violator, until α ≥ 0 and every
    /// margin is at least 1 (an active-set refinement of the approximate solution).
    private static func polish(x: Tensor, signs: Tensor, support candidates: [Int]) throws -> Result<Solution, PolishError> {
        var support = candidates
        for _ in 0..<(2 * candidates.count + 20) {
            guard support.count >= 2 else { return .failure(PolishError("fewer than two candidate support vectors")) }
            let index = try Tensor(support, shape: [support.count])
            let s = try x.indexSelect(dim: 0, index: index), ys = try signs.indexSelect(dim: 0, index: index)
            let m = support.count
            // The smallest w with w·x_i + b = y_i on the working set: eliminate b against the first
            // vector and take the minimum-norm solution (SVD least squares, conditioned as the data).
            let differences = try s.slice(dim: 0, start: 1, end: m) - s.slice(dim: 0, start: 0, end: 1)
            let targets = try (ys.slice(dim: 0, start: 1, end: m) - ys.slice(dim: 0, start: 0, end: 1)).unsqueezed(dim: 1)
            let weights = try differences.leastSquares(targets).squeezed(dim: 1)
            let bias = try (ys - s.matmul(weights)).mean().item()
            let margins = try (x.matmul(weights) + bias) * signs
            // Dual coefficients: w = Σ α_i y_i x_i with Σ α_i y_i = 0.
            let basis = try Tensor.cat([(s * ys.unsqueezed(dim: 1)).t(), ys.unsqueezed(dim: 0)])
            let alpha = try basis.leastSquares(Tensor.cat([weights, Tensor.zeros([1], dtype: .float64)]).unsqueezed(dim: 1)).squeezed(dim: 1)
            let scale = Swift.max(try alpha.abs().max().item(), 1e-300)
            let lowest = try alpha.argmin().itemInt()
            if try alpha[lowest].item() < -1e-7 * scale {
                support.remove(at: lowest)
                continue
            }
            let worst = try margins.argmin().itemInt()
            if try margins[worst].item() < 1 - 1e-9, !support.contains(worst) {
                support.append(worst)
                continue
            }
            guard try margins[worst].item() >= 1 - 1e-7 else { return .failure(PolishError("the margins are not met to 1e-7")) }
            let active = try alpha.gt(1e-7 * scale).nonzeroIndices().scalars(as: Int64.self).map { support[Int($0)] }
            return .success(Solution(weights: weights, bias: bias, support: active.sorted()))
        }
        return .failure(PolishError("the working set did not settle"))
    }

    private struct PolishError: Error { let why: String; init(_ why: String) { self.why = why } }

    public func decision(_ features: Tensor) throws -> Tensor {
        try checkedFeatures(features, count: weights.count, dtype: .float64).matmul(weights) + bias
    }

    public func predict(_ features: Tensor) throws -> Tensor { try decision(features).gt(0).to(.int64) }
}

/// Euclidean projection of a vector onto the probability simplex (Duchi et al. 2008), in tensor operations.
func projectOntoSimplex(_ v: Tensor) throws -> Tensor {
    let sorted = try v.sorted(descending: true).values
    let cumulative = try sorted.cumsum(dim: 0) - 1
    let ranks = try Tensor.arange(1, Double(v.count + 1), dtype: .float64)
    let feasible = try (sorted - cumulative / ranks).gt(0)
    let last = try feasible.to(.int64).sum().itemInt() - 1
    let shift = try cumulative[last].item() / Double(last + 1)
    return try (v - shift).clamp(min: 0)
}

extension Tensor {
    func dot(_ other: Tensor) throws -> Double { try (self * other).sum().item() }
}
