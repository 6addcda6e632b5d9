import Torch

/// What an attribution method returns.
public struct AttributionResult {
    /// One relevance per input feature (or per layer unit, for layer methods).
    public let values: Tensor
    /// Per-example completeness error, for methods that have one:
    /// Σ attributions − (f(x) − f(baseline)).
    public let convergenceDelta: Tensor?

    public init(values: Tensor, convergenceDelta: Tensor? = nil) {
        self.values = values
        self.convergenceDelta = convergenceDelta
    }
}

/// An attribution method with its options set: explains a batch for given targets.
public protocol AttributionMethod {
    /// A short name, as `glassbox attribute --method` takes it.
    var name: String { get }
    /// The model being explained.
    var model: Explainable { get }
    func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult
}
