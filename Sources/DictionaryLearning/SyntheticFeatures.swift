import Torch

/// Activations with a known dictionary: a random overcomplete set of unit directions (F, d), and
/// each input the sum of a sparse random subset of them — each present with probability
/// `density`, with a magnitude uniform on [0, 1]. A dictionary learner should find the
/// directions; `recovery` measures how well (Sharkey et al. 2022's mean max cosine similarity).
public struct SyntheticFeatures: ActivationBatches {
    public let directions: Tensor
    public let density: Double
    public var dimension: Int { directions.shape[1] }

    public init(features: Int, dimension: Int, density: Double, generator: Generator) throws {
        guard features >= 1, dimension >= 1, density > 0, density <= 1 else {
            throw TorchError("synthetic features need F ≥ 1, d ≥ 1 and a density in (0, 1]")
        }
        let raw = try Tensor.randn([features, dimension], generator: generator)
        directions = try raw / raw.norm(dims: [1], keepDims: true).clamp(min: 1e-12)
        self.density = density
    }

    public func batch(_ size: Int, generator: Generator) throws -> Tensor {
        let f = directions.shape[0]
        let present = try Tensor.rand([size, f], generator: generator).lt(density).to(.float32)
        let magnitudes = try Tensor.rand([size, f], generator: generator)
        return try (present * magnitudes).matmul(directions)
    }

    /// For each true direction, the largest cosine similarity with a learned one (rows of
    /// `learned`, (F′, d)), averaged over the true directions.
    public func recovery(_ learned: Tensor) throws -> Double {
        let unit = try learned / learned.norm(dims: [1], keepDims: true).clamp(min: 1e-12)
        return try directions.matmul(unit.t()).max(dims: [1]).mean().item()
    }
}
