import Torch

/// Principal component analysis (Pearson 1901): the directions of largest variance of the
/// training features, from the SVD of the centred table (float64).
public struct PrincipalComponents {
    /// (components, F) float64, rows orthonormal, by decreasing variance.
    public let components: Tensor
    public let mean: Tensor
    /// Fraction of the total variance along each component.
    public let explainedVarianceRatio: [Double]

    public init(fitting features: Tensor, components count: Int) throws {
        guard features.rank == 2, count >= 1, count <= Swift.min(features.shape[0], features.shape[1]) else {
            throw TorchError("PCA of a \(features.shape) table needs 1...\(features.rank == 2 ? Swift.min(features.shape[0], features.shape[1]) : 0) components, got \(count)")
        }
        let x = try features.to(.float64)
        mean = try x.mean(dims: [0], keepDims: true)
        let (_, s, vh) = try (x - mean).svd()
        components = try vh.slice(dim: 0, start: 0, end: count)
        let variance = try s.square()
        let total = try variance.sum().item()
        explainedVarianceRatio = try (variance.slice(dim: 0, start: 0, end: count) / Swift.max(total, 1e-300)).scalars(as: Double.self)
    }

    /// Coordinates (N, components) as float32.
    public func transform(_ features: Tensor) throws -> Tensor {
        try ((checkedFeatures(features, count: components.shape[1], dtype: .float64) - mean).matmul(components.t())).to(.float32)
    }
}
