import ExplanationCore
import NN
import Torch

/// Integrated Gradients of one neuron's activation with respect to the input.
public struct NeuronIntegratedGradients: AttributionMethod {
    public let model: Explainable
    public let neuron: Neuron
    public var baseline: Baseline = .zeros
    public var steps = 50
    public var rule: IntegrationRule = .gaussLegendre
    public var internalBatchSize: Int?
    public var name: String { "neuron-integrated-gradients" }

    public init(_ model: Explainable, neuron: Neuron) {
        self.model = model
        self.neuron = neuron
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs)
        let module = try model.requireModule(for: "NeuronIntegratedGradients")
        let reference = try baseline.resolve(for: inputs)
        let dummyTargets = try Tensor.zeros([inputs.shape[0]], dtype: .int64)
        let averaged = try pathAverage(along: reference, to: inputs, steps: steps, rule: rule, batchSize: internalBatchSize) { points, _, _ in
            try neuron.inputGradients(module, points)
        } targets: { dummyTargets }
        return AttributionResult(values: try (inputs - reference) * averaged)
    }
}
