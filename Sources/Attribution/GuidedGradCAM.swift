import ExplanationCore
import NN
import Torch

/// Guided Grad-CAM (Selvaraju et al. 2017): Guided Backprop times the Grad-CAM map
/// upsampled (nearest, as Captum) to the input size.
public struct GuidedGradCAM: AttributionMethod {
    public let model: Explainable
    public let hookPoint: String
    public var name: String { "guided-grad-cam" }

    public init(_ model: Explainable, hookPoint: String) {
        self.model = model
        self.hookPoint = hookPoint
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let indices = Target.indices(try targets.scalars(as: Int64.self).map(Int.init))
        let cam = try LayerGradCAM(model, hookPoint: hookPoint, reluAttributions: true, upsampling: .nearest).attribute(inputs, target: indices)
        let guided = try GuidedBackprop(model).attribute(inputs, target: indices)
        return AttributionResult(values: try guided.values * cam.values)
    }
}
