import ExplanationCore
import Torch

/// A score for the explanations one attribution method gives on a batch.
///
/// Metrics that need the model use the method's model; metrics that need the
/// explanation take `attributions` when the caller already has them, and compute
/// them with `method` otherwise.
public protocol ExplanationMetric {
    /// Short name, as `glassbox score` prints it.
    var name: String { get }
    /// Whether larger scores mean better explanations.
    var higherIsBetter: Bool { get }
    /// One score per example: (N).
    func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor
}

extension ExplanationMetric {
    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target) throws -> Tensor {
        try score(method, inputs: inputs, target: target, attributions: nil)
    }
}

/// The attributions to score: given ones (checked against the inputs) or the method's.
func explanation(_ method: AttributionMethod, _ inputs: Tensor, _ target: Target, _ given: Tensor?) throws -> Tensor {
    if let given {
        guard given.shape == inputs.shape else {
            throw TorchError("attributions of shape \(given.shape) do not match inputs of shape \(inputs.shape)")
        }
        return given
    }
    return try method.attribute(inputs, target: target).values
}

/// Flattens every dimension but the first: (N, …) → (N, F).
func rows(_ t: Tensor) throws -> Tensor {
    try t.reshaped([t.shape[0], -1])
}

