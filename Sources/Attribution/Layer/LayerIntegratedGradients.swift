import ExplanationCore
import NN
import Torch

/// Integrated Gradients in a layer's activation space (as Captum's LayerIntegratedGradients):
/// the straight path runs from the baseline's activation to the input's at `hookPoint`,
/// patched into the forward pass; attributions have the layer's shape.
public struct LayerIntegratedGradients: AttributionMethod {
    public let model: Explainable
    public let hookPoint: String
    public var baseline: Baseline = .zeros
    public var steps = 50
    public var rule: IntegrationRule = .gaussLegendre
    public var internalBatchSize: Int?
    public var name: String { "layer-integrated-gradients" }

    public init(_ model: Explainable, hookPoint: String) {
        self.model = model
        self.hookPoint = hookPoint
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs, allowingIntegers: true)
        let module = try model.requireModule(for: "LayerIntegratedGradients")
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let reference = try baseline.resolve(for: inputs)
        let inputActivation = try layerActivations(module, inputs, hookPoint: hookPoint)
        let baselineActivation = try layerActivations(module, reference, hookPoint: hookPoint)
        let averaged = try pathAverage(along: baselineActivation, to: inputActivation, steps: steps, rule: rule, batchSize: internalBatchSize) { points, repeatedTargets, examples in
            let patch = try points.detached().requiringGrad()
            let outputs = try withGrad {
                try module.withHooks([(hookPoint, { _, _ in patch })]) { try module(inputs.indexSelect(dim: 0, index: examples)) }
            }
            return try Tensor.grad(of: selectTargets(outputs, repeatedTargets).sum(), wrt: patch)
        } targets: { targets }
        let values = try (inputActivation - baselineActivation) * averaged
        let delta = try sumPerExample(values) - (targetOutputs(model, inputs, targets: targets) - targetOutputs(model, reference, targets: targets))
        return AttributionResult(values: values, convergenceDelta: delta)
    }
}
