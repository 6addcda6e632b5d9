import ExplanationCore
import Torch

/// Complexity of an explanation: the entropy of each feature's fractional contribution
/// |aᵢ| / Σ|a| (Bhatt, Weller & Moura 2020). log F for a uniform map, 0 for a single feature.
public struct Complexity: ExplanationMetric {
    public let name = "complexity"
    public let higherIsBetter = false

    public init() {}

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        try Self.entropy(explanation(method, inputs, target, attributions))
    }

    public static func entropy(_ attributions: Tensor) throws -> Tensor {
        let a = try rows(attributions).to(.float64).abs()
        let p = try a / a.sum(dims: [1], keepDims: true).clamp(min: 1e-300)
        // 0 · log 0 = 0
        return try -(p * p.clamp(min: 1e-300).log()).sum(dims: [1])
    }
}
