import Torch

/// How toy models lay their features out in the hidden space (Elhage et al. 2022), per instance,
/// from W (instances, hidden, features) whose column i is feature i's direction Wᵢ.
public struct FeatureGeometry {
    /// WᵀW (instances, features, features): a feature's own norm² on the diagonal, interference off it.
    public let gram: Tensor
    /// ‖Wᵢ‖ (instances, features): near 1 when a feature is represented, near 0 when dropped.
    public let norms: Tensor
    /// Σⱼ≠ᵢ (Ŵᵢ·Wⱼ)² (instances, features): how much other features share feature i's direction;
    /// 0 for a feature with a dimension of its own.
    public let superposition: Tensor
    /// Dᵢ = ‖Wᵢ‖² / Σⱼ (Ŵᵢ·Wⱼ)² (instances, features): the fraction of a dimension feature i gets;
    /// 0 for features the model drops.
    public let dimensionality: Tensor

    /// Features with ‖Wᵢ‖ below `droppedBelow` count as not represented (dimensionality 0).
    public init(weight: Tensor, droppedBelow: Double = 1e-2) throws {
        let w = try weight.detached().to(.float64)
        gram = try w.transposed(1, 2).matmul(w)
        norms = try w.norm(dims: [1])
        let directions = try w / norms.clamp(min: 1e-12).unsqueezed(dim: 1)
        let overlaps = try directions.transposed(1, 2).matmul(w)          // [i, j] = Ŵᵢ·Wⱼ
        let total = try (overlaps * overlaps).sum(dims: [2])               // Σⱼ (Ŵᵢ·Wⱼ)², j = i included
        let own = try norms * norms
        superposition = try total - own
        let represented = try norms.gt(droppedBelow).to(.float64)
        dimensionality = try own / total.clamp(min: 1e-12) * represented
    }

    /// The number of hidden dimensions each instance's features use in total, Σᵢ Dᵢ, against m.
    public func dimensionsUsed() throws -> [Double] { try dimensionality.sum(dims: [1]).scalars(as: Double.self) }
}
