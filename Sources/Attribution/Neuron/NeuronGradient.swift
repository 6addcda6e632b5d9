import ExplanationCore
import NN
import Torch

/// The gradient of one neuron's activation with respect to the input.
public struct NeuronGradient: AttributionMethod {
    public let model: Explainable
    public let neuron: Neuron
    public var name: String { "neuron-gradient" }

    public init(_ model: Explainable, neuron: Neuron) {
        self.model = model
        self.neuron = neuron
    }

    /// The neuron, not a class, is explained; the target is accepted for the common call shape.
    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs)
        let module = try model.requireModule(for: "NeuronGradient")
        return AttributionResult(values: try neuron.inputGradients(module, inputs))
    }
}
