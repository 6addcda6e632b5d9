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

    public func attribute(_ inputs: Tensor, target: Target) throws -> Attribution {
        try validateInputs(inputs)
        let module = try model.requireModule(for: "LayerIntegratedGradients")
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let reference = try baseline.resolve(for: inputs)
        let inputActivation = try layerActivations(module, inputs, hookPoint: hookPoint)
        let baselineActivation = try layerActivations(module, reference, hookPoint: hookPoint)
        let stepInputs = try inputs.repeated([steps] + Array(repeating: 1, count: inputs.rank - 1))
        let averaged = try pathAverage(along: baselineActivation, to: inputActivation, steps: steps, rule: rule, batchSize: internalBatchSize) { points, repeatedTargets in
            let rows = points.shape[0]
            let chunk = max(1, internalBatchSize ?? rows)
            var grads: [Tensor] = []
            for start in stride(from: 0, to: rows, by: chunk) {
                let end = min(rows, start + chunk)
                let patch = try points.slice(dim: 0, start: start, end: end).detached().requiringGrad()
                let outputs = try withGrad {
                    try module.withHooks([(hookPoint, { _, _ in patch })]) { try module(stepInputs.slice(dim: 0, start: start, end: end)) }
                }
                let selected = try selectTargets(outputs, repeatedTargets.slice(dim: 0, start: start, end: end))
                grads.append(try Tensor.grad(of: selected.sum(), wrt: patch))
            }
            return try Tensor.cat(grads)
        } targets: { targets }
        let values = try (inputActivation - baselineActivation) * averaged
        let delta = try sumPerExample(values) - (targetOutputs(model, inputs, targets: targets) - targetOutputs(model, reference, targets: targets))
        return Attribution(values: values, convergenceDelta: delta)
    }
}
