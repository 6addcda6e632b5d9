import ExplanationCore
import NN
import Torch

/// DeconvNet attribution (Zeiler & Fergus 2014): the input gradient with every ReLU
/// module passing back the positive part of the incoming gradient, whatever its input was.
public struct Deconvolution: AttributionMethod {
    public let model: Explainable
    public var name: String { "deconvolution" }

    public init(_ model: Explainable) {
        self.model = model
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try reluRuleGradient(model, inputs, target: target, rule: .deconvolution, method: "DeconvNet")
    }
}
