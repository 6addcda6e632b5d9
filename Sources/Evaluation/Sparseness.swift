import ExplanationCore
import Torch

/// Sparseness of an explanation: the Gini index of |attributions| (Chalasani et al. 2020),
/// 0 when every feature gets the same share, (F − 1)/F when one feature gets everything.
public struct Sparseness: ExplanationMetric {
    public let name = "sparseness"
    public let higherIsBetter = true

    public init() {}

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        try Self.gini(explanation(method, inputs, target, attributions))
    }

    /// Gini index per row: Σᵢ (2i − F − 1)·aᵢ / (F · Σ a) over the sorted |a|.
    public static func gini(_ attributions: Tensor) throws -> Tensor {
        // The 1e-7 offset (as Quantus) keeps an all-zero map defined.
        let a = try rows(attributions).to(.float64).abs().sorted(dim: 1).values + 1e-7
        let f = a.shape[1]
        let weights = try Tensor.arange(1, Double(f + 1), dtype: .float64) * 2.0 - Double(f + 1)
        return try (a * weights.unsqueezed(dim: 0)).sum(dims: [1]) / (a.sum(dims: [1]) * Double(f))
    }
}
