import Torch

/// The diversity term of Olah et al. (2017, "Feature Visualization", section Diversity): images
/// of the same objective are pushed apart by penalising the cosine similarity of their style —
/// the Gram matrices of their activations at a layer (Gatys et al. 2015) — so one neuron shows
/// several of the things it responds to instead of one of them several times.
public struct Diversity: Sendable {
    /// The layer whose Gram matrices are compared (a hook point of a native model).
    public var hookPoint: String
    /// Weight of the mean pairwise cosine similarity in the loss.
    public var weight: Double

    public init(hookPoint: String, weight: Double = 1) {
        (self.hookPoint, self.weight) = (hookPoint, weight)
    }

    func validate() throws {
        guard weight >= 0, weight.isFinite else { throw TorchError("the diversity weight must be finite and ≥ 0, got \(weight)") }
    }

    /// Rows sharing an objective (by its description), for groups of two or more.
    static func groups(of objectives: [FeatureObjective]) -> [[Int]] {
        var rows: [String: [Int]] = [:], order: [String] = []
        for (row, objective) in objectives.enumerated() {
            let key = objective.description
            if rows[key] == nil { order.append(key) }
            rows[key, default: []].append(row)
        }
        return order.compactMap { rows[$0]!.count >= 2 ? rows[$0] : nil }
    }

    /// Mean cosine similarity between the Gram matrices of every pair within each group;
    /// activations (N, C, H, W) give C×C Gram matrices, (N, D) are compared directly.
    public func penalty(_ activations: Tensor, groups: [[Int]]) throws -> Tensor {
        let styles = try Self.styles(activations)
        var total = try Tensor(scalar: 0, dtype: styles.dtype), pairs = 0
        for group in groups {
            let rows = try styles.indexSelect(dim: 0, index: Tensor(group, shape: [group.count]))
            let unit = try rows / rows.norm(dims: [1], keepDims: true).clamp(min: 1e-12)
            let similarity = try unit.matmul(unit.transposed(0, 1))
            // Off-diagonal sum: all entries minus the diagonal of ones.
            total = try total + similarity.sum() - Double(group.count)
            pairs += group.count * (group.count - 1)
        }
        return pairs == 0 ? total : try total / Double(pairs)
    }

    /// One flattened style vector per image.
    static func styles(_ activations: Tensor) throws -> Tensor {
        guard activations.rank >= 3 else { return try activations.flattened(from: 1) }
        let features = try activations.flattened(from: 2)
        return try features.matmul(features.transposed(1, 2)).flattened(from: 1) / Double(features.shape[2])
    }
}
