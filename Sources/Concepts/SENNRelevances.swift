import ExplanationCore
import Torch

/// SENN's own explanation as an attribution method: the relevances θ(x)ₖ of each concept
/// for the target class, (N, concepts). It plugs SENN into the evaluation metrics (local
/// Lipschitz stability and the rest) next to post-hoc methods on other models.
public struct SENNRelevances: AttributionMethod {
    public let name = "senn-relevances"
    public let senn: SENN
    public var model: Explainable { senn }

    public init(_ senn: SENN) {
        self.senn = senn
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        let output = try senn.explain(inputs)
        let index = try target.resolve(outputs: output.logits.detached()).reshaped([-1, 1, 1])
            .expanded(to: [inputs.shape[0], senn.concepts, 1])
        return AttributionResult(values: try output.relevances.gather(dim: 2, index: index).squeezed(dim: 2))
    }
}
