import Torch

/// Distances between probability distributions along the last dimension, as Jain & Wallace (2019)
/// measure changes in outputs and in attention.
public enum Divergence {
    /// Total variation distance ½ Σ |p − q|.
    public static func totalVariation(_ p: Tensor, _ q: Tensor) throws -> Tensor {
        try (p - q).abs().sum(dims: [p.rank - 1]) * 0.5
    }

    /// Jensen–Shannon divergence ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, natural logarithm
    /// (between 0 and log 2); zero entries contribute nothing.
    public static func jensenShannon(_ p: Tensor, _ q: Tensor) throws -> Tensor {
        let m = try (p + q) * 0.5
        func kl(_ a: Tensor) throws -> Tensor {
            let terms = try a * (a.clamp(min: 1e-30).log() - m.clamp(min: 1e-30).log())
            return try Tensor.where(a.gt(0), terms, terms.zerosLike()).sum(dims: [a.rank - 1])
        }
        return try (kl(p) + kl(q)) * 0.5
    }
}
