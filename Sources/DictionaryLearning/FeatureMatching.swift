import Foundation
import Torch

/// How far two sets of units — two autoencoders' features, or two models' neurons — find the
/// same things, from their activations on the same inputs (Bricken et al. 2023 compare features
/// across seeds this way: median max correlation about 0.72 for features vs 0.46 for neurons).
public struct FeatureMatching: Codable, Sendable {
    /// Per unit of the first set, its largest Pearson correlation with a unit of the second.
    public var maxCorrelation: [Double]
    /// The one-to-one matching with the largest total correlation (the first set's unit i to
    /// `assignment[i]`, -1 when the second set is smaller) and each pair's correlation.
    public var assignment: [Int]
    public var assignedCorrelation: [Double]

    public var medianMaxCorrelation: Double { Self.median(maxCorrelation) }
    public var meanAssignedCorrelation: Double {
        let matched = zip(assignment, assignedCorrelation).filter { $0.0 >= 0 }.map(\.1)
        return matched.reduce(0, +) / Double(Swift.max(matched.count, 1))
    }

    /// `a` (N, F) and `b` (N, G): activations of the two sets on the same N inputs. Units that
    /// never vary correlate 0 with everything.
    public init(_ a: Tensor, _ b: Tensor) throws {
        guard a.rank == 2, b.rank == 2, a.shape[0] == b.shape[0], a.shape[0] >= 2 else {
            throw TorchError("both activation sets must be (N ≥ 2, units) on the same inputs, got \(a.shape) and \(b.shape)")
        }
        func standardized(_ x: Tensor) throws -> Tensor {
            let centered = try x.to(.float64) - x.to(.float64).mean(dims: [0], keepDims: true)
            let norms = try centered.norm(dims: [0], keepDims: true)
            return try centered / norms.clamp(min: 1e-12) * norms.gt(1e-12).to(.float64)
        }
        let correlations = try standardized(a).t().matmul(standardized(b))  // (F, G)
        let (f, g) = (a.shape[1], b.shape[1])
        maxCorrelation = try correlations.max(dims: [1]).scalars(as: Double.self)
        let values = try correlations.scalars(as: Double.self)
        if f <= g {
            assignment = LinearAssignment.maximize(values, rows: f, columns: g)
        } else {
            let transposed = try correlations.t().contiguous().scalars(as: Double.self)
            var inverse = [Int](repeating: -1, count: f)
            for (column, row) in LinearAssignment.maximize(transposed, rows: g, columns: f).enumerated() { inverse[row] = column }
            assignment = inverse
        }
        assignedCorrelation = assignment.enumerated().map { row, column in column >= 0 ? values[row * g + column] : 0 }
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
