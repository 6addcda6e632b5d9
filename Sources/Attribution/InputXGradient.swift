import ExplanationCore
import Torch

/// Gradient × Input (Shrikumar et al. 2016): the input times the gradient of the target output.
public struct InputXGradient: AttributionMethod {
    public let model: Explainable
    public var name: String { "input-x-gradient" }

    public init(_ model: Explainable) {
        self.model = model
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        return AttributionResult(values: try inputs * inputGradients(model, inputs, targets: targets))
    }
}
