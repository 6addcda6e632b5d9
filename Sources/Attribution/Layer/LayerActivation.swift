import ExplanationCore
import NN
import Torch

/// The activation at a hook point, as an attribution over that layer's units.
public struct LayerActivation: AttributionMethod {
    public let model: Explainable
    public let hookPoint: String
    public var name: String { "layer-activation" }

    public init(_ model: Explainable, hookPoint: String) {
        self.model = model
        self.hookPoint = hookPoint
    }

    /// The target does not change an activation; it is accepted for the common call shape.
    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs, allowingIntegers: true)
        let module = try model.requireModule(for: "LayerActivation")
        return AttributionResult(values: try layerActivations(module, inputs, hookPoint: hookPoint))
    }
}
