import ExplanationCore
import Torch

/// Saliency maps: the gradient of the target output with respect to the input
/// (Simonyan, Vedaldi & Zisserman 2014), by default its absolute value as in the paper and Captum.
public struct Saliency: AttributionMethod {
    public let model: Explainable
    public var absoluteValue = true
    public var name: String { "saliency" }

    public init(_ model: Explainable, absoluteValue: Bool = true) {
        self.model = model
        self.absoluteValue = absoluteValue
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let gradient = try inputGradients(model, inputs, targets: targets)
        return AttributionResult(values: absoluteValue ? try gradient.abs() : gradient)
    }
}
