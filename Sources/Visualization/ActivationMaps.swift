import ExplanationCore
import NN
import Torch

/// Every channel's feature map for one input at chosen layers, kept apart (not summed over
/// channels as a saliency map would be): what each filter detects where, the companion of a
/// filter's weights and of its feature visualisation.
public struct ActivationMaps {
    public let model: Explainable
    /// Hook points whose activations are (N, C, H, W) feature maps.
    public var hookPoints: [String]
    public var preprocess: ((Tensor) throws -> Tensor)?

    public init(_ model: Explainable, hookPoints: [String]) {
        (self.model, self.hookPoints) = (model, hookPoints)
    }

    public struct Layer {
        public var hookPoint: String
        /// (C, H, W): the layer's maps for the image.
        public var maps: Tensor
        /// Each channel's mean activation over the map.
        public var means: [Double]
    }

    /// The maps of `image` (C, H, W) or (1, C, H, W) at every hook point, in the order given.
    public func run(_ image: Tensor) throws -> [Layer] {
        let x = image.rank == 3 ? try image.unsqueezed(dim: 0) : image
        guard x.rank == 4, x.shape[0] == 1 else { throw TorchError("activation maps take one image (C, H, W), got \(image.shape)") }
        guard try x.allFinite() else { throw TorchError("the image holds NaN or infinite values") }
        guard !hookPoints.isEmpty else { throw TorchError("name at least one layer") }
        guard let module = model.module else { throw TorchError("activation maps read hook points, which need a native Glassbox model") }
        // Unknown hook points are refused (the model's list in the message) before anything runs.
        let activations = try noGrad { try module.activations(at: hookPoints, for: try preprocess?(x) ?? x) }
        return try zip(hookPoints, activations).map { point, activation in
            guard activation.rank == 4 else {
                throw TorchError("hook point '\(point)' gives \(activation.shape), not feature maps (N, C, H, W); pick a convolutional layer")
            }
            let maps = try activation[0].to(.float32)
            return Layer(hookPoint: point, maps: maps, means: try maps.mean(dims: [1, 2]).to(.float64).scalars(as: Double.self))
        }
    }
}
