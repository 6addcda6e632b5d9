import ExplanationCore
import NN
import Torch

/// Guided Backpropagation (Springenberg et al. 2015): the input gradient with every
/// ReLU module passing back only positive gradients where its input was positive.
///
/// Needs a native model; the ReLU modules' backward rule is switched in the call's own scope,
/// never on the shared model.
public struct GuidedBackprop: AttributionMethod {
    public let model: Explainable
    public var name: String { "guided-backprop" }

    public init(_ model: Explainable) {
        self.model = model
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try reluRuleGradient(model, inputs, target: target, rule: .guided, method: "Guided Backprop")
    }
}

/// The input gradient with every ReLU module's backward replaced by `rule`, for this call only.
func reluRuleGradient(_ model: Explainable, _ inputs: Tensor, target: Target, rule: ReLUBackwardRule, method: String) throws -> AttributionResult {
    try validateInputs(inputs)
    let module = try model.requireModule(for: method)
    guard module.namedModules().contains(where: { $0.module is ReLU }) else {
        throw TorchError("\(method) changes ReLU modules, and this model has none")
    }
    let targets = try resolveTargets(target, model: model, inputs: inputs)
    return AttributionResult(values: try module.withReLUBackwardRule(rule) { try inputGradients(model, inputs, targets: targets) })
}
