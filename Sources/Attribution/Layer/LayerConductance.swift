import ExplanationCore
import NN
import Torch

/// Conductance of a layer's units (Dhamdhere, Sundararajan & Yan 2018): the flow of
/// Integrated Gradients through each unit, Σₖ ∂f/∂a(xₖ) · (a(xₖ₊₁) − a(xₖ)) along
/// the input path x₀ = baseline … xₙ = input, with the rule's n + 1 nodes (as Captum).
public struct LayerConductance: AttributionMethod {
    public let model: Explainable
    public let hookPoint: String
    public var baseline: Baseline = .zeros
    public var steps = 50
    public var rule: IntegrationRule = .gaussLegendre
    public var internalBatchSize: Int?
    public var name: String { "layer-conductance" }

    public init(_ model: Explainable, hookPoint: String) {
        self.model = model
        self.hookPoint = hookPoint
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs)
        let module = try model.requireModule(for: "LayerConductance")
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let reference = try baseline.resolve(for: inputs)
        let (alphas, _) = try rule.nodes(steps + 1)
        let n = inputs.shape[0]
        let points = try straightPath(from: reference, to: inputs, at: alphas)
        let (activations, gradients) = try layerActivationsAndGradients(module, points, targets: targets.repeated([steps + 1]),
                                                                        hookPoint: hookPoint, batchSize: internalBatchSize)
        let layerShape = Array(activations.shape.dropFirst())
        let a = try activations.reshaped([steps + 1, n] + layerShape)
        let g = try gradients.reshaped([steps + 1, n] + layerShape)
        let differences = try a.slice(dim: 0, start: 1, end: steps + 1) - a.slice(dim: 0, start: 0, end: steps)
        return AttributionResult(values: try (g.slice(dim: 0, start: 0, end: steps) * differences).sum(dims: [0]))
    }
}
