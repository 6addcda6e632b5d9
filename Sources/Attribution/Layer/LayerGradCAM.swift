import ExplanationCore
import NN
import Torch

/// Grad-CAM (Selvaraju et al. 2017) at a hook point: channel weights are the spatially
/// averaged gradients of the target output, the map is Σ_c weight_c · activation_c.
///
/// `reluAttributions` applies the ReLU of the paper; it is on by default (Captum's
/// default is off, which keeps evidence *against* the class in the map).
/// `upsampleToInput` resizes the map to the input's height and width (bilinear, or
/// nearest as Captum's GuidedGradCam uses).
public struct LayerGradCAM: AttributionMethod {
    public enum Upsampling: String, Sendable { case none, bilinear, nearest }

    public let model: Explainable
    public let hookPoint: String
    public var reluAttributions = true
    public var upsampling: Upsampling = .bilinear
    public var name: String { "grad-cam" }

    public init(_ model: Explainable, hookPoint: String, reluAttributions: Bool = true, upsampling: Upsampling = .bilinear) {
        self.model = model
        self.hookPoint = hookPoint
        self.reluAttributions = reluAttributions
        self.upsampling = upsampling
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs, allowingIntegers: true)
        let module = try model.requireModule(for: "Grad-CAM")
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let (activations, gradients) = try layerActivationsAndGradients(module, inputs, targets: targets, hookPoint: hookPoint)
        guard activations.rank >= 2 else {
            throw TorchError("Grad-CAM needs a layer with channels; '\(hookPoint)' gives shape \(activations.shape)")
        }
        let spatial = Array(2..<activations.rank)
        let weights = spatial.isEmpty ? gradients : try gradients.mean(dims: spatial, keepDims: true)
        var map = try (weights * activations).sum(dims: [1], keepDims: true)
        if reluAttributions { map = try map.relu() }
        if upsampling != .none {
            guard map.rank == 4, inputs.rank == 4 else {
                throw TorchError("upsampling Grad-CAM needs image inputs (N, C, H, W) and a convolutional layer; got \(inputs.shape) and \(map.shape)")
            }
            let size = (inputs.shape[2], inputs.shape[3])
            map = upsampling == .nearest ? try Functional.upsampleNearest(map, size: size)
                                         : try Functional.upsampleBilinear(map, size: size)
        }
        return AttributionResult(values: map)
    }
}
