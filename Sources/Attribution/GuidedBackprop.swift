import NN
import Torch

/// Guided Backpropagation (Springenberg et al. 2015): the input gradient with every
/// ReLU module passing back only positive gradients where its input was positive.
///
/// Needs a native model; the ReLU modules' backward rule is switched for the call
/// and restored afterwards, also after an error.
public struct GuidedBackprop: AttributionMethod {
    public let model: Explainable
    public var name: String { "guided-backprop" }

    public init(_ model: Explainable) {
        self.model = model
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> Attribution {
        try reluRuleGradient(model, inputs, target: target, rule: .guided, method: "Guided Backprop")
    }
}

/// The input gradient with every ReLU module's backward replaced by `rule`.
func reluRuleGradient(_ model: Explainable, _ inputs: Tensor, target: Target, rule: ReLUBackwardRule, method: String) throws -> Attribution {
    try validateInputs(inputs)
    let module = try model.requireModule(for: method)
    let relus = module.namedModules().compactMap { $0.module as? ReLU }
    guard !relus.isEmpty else { throw TorchError("\(method) changes ReLU modules, and this model has none") }
    let targets = try resolveTargets(target, model: model, inputs: inputs)
    let previous = relus.map(\.backwardRule)
    defer { for (relu, rule) in zip(relus, previous) { relu.backwardRule = rule } }
    for relu in relus { relu.backwardRule = rule }
    return Attribution(values: try inputGradients(model, inputs, targets: targets))
}
