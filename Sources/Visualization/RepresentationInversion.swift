import ExplanationCore
import NN
import Torch

/// Inverting a representation (Mahendran & Vedaldi 2015, "Understanding deep image
/// representations by inverting them"): from noise, the image whose activation at a layer
/// matches one image's, min ‖φ(x) − φ(x₀)‖² / ‖φ(x₀)‖² + λ·TV(x), for several layers at once
/// (one image per layer, in one batch). Deeper layers keep less of the image: what they keep is
/// what the network has not thrown away.
public struct RepresentationInversion {
    public let model: Explainable
    /// Hook points, shallow to deep; "output" for the model's output.
    public var hookPoints: [String]
    public var steps = 400
    public var learningRate = 0.05
    /// λ, the weight of the total variation (the natural-image prior).
    public var totalVariation = 0.02
    public var parametrization = ImageParametrization.pixels
    public var preprocess: ((Tensor) throws -> Tensor)?
    public var seed: UInt64 = 0

    public init(_ model: Explainable, hookPoints: [String]) {
        (self.model, self.hookPoints) = (model, hookPoints)
    }

    public struct Result {
        /// (layers, C, H, W): each layer's reconstruction.
        public var images: Tensor
        /// ‖φ(x) − φ(x₀)‖ / ‖φ(x₀)‖ per layer at the end.
        public var relativeErrors: [Double]
        /// ‖x − x₀‖ / ‖x₀‖ per layer: how close the reconstruction is to the image itself.
        public var imageErrors: [Double]
    }

    /// Inverts `image` (1, C, H, W) or (C, H, W), values in [0, 1].
    public func run(_ image: Tensor) throws -> Result {
        let x0 = try Self.checkedImage(image)
        guard !hookPoints.isEmpty else { throw TorchError("name at least one layer to invert") }
        let objectives = try Self.matchObjectives(model, hookPoints: hookPoints, image: x0, preprocess: preprocess)
        var search = FeatureVisualization(model, objectives: objectives)
        (search.parametrization, search.transforms, search.steps, search.learningRate) = (parametrization, .none, steps, learningRate)
        (search.totalVariation, search.annealing, search.preprocess, search.seed) = (totalVariation, true, preprocess, seed)
        let result = try search.run(imageShape: Array(x0.shape.dropFirst()))
        let imageErrors = try (0..<hookPoints.count).map { try ((result.images[$0] - x0[0]).norm() / x0.norm().clamp(min: 1e-12)).item() }
        return Result(images: result.images, relativeErrors: result.values.map { (-$0).squareRoot() }, imageErrors: imageErrors)
    }

    /// `image` as (1, C, H, W), checked to hold one image with values in [0, 1].
    static func checkedImage(_ image: Tensor) throws -> Tensor {
        let x0 = image.rank == 3 ? try image.unsqueezed(dim: 0) : image
        guard x0.rank == 4, x0.shape[0] == 1 else { throw TorchError("inversion takes one image (C, H, W), got \(image.shape)") }
        guard try x0.allFinite(), try x0.min().item() >= 0, try x0.max().item() <= 1 else { throw TorchError("the image's values must be finite and lie in [0, 1]") }
        return x0
    }

    /// One `match` objective per hook point: the activation of `image` (1, C, H, W) there.
    static func matchObjectives(_ model: Explainable, hookPoints: [String], image: Tensor, preprocess: ((Tensor) throws -> Tensor)?) throws -> [FeatureObjective] {
        let input = try preprocess?(image) ?? image
        let points = Set(hookPoints.filter { $0 != FeatureObjective.output })
        var cache: [String: Tensor] = [:], output: Tensor
        if points.isEmpty {
            output = try noGrad { try model(input) }
        } else {
            guard let module = model.module else { throw TorchError("inverting hook points needs a native Glassbox model; a TorchScript model offers \"output\" only") }
            for point in points.sorted() where !module.hookPointNames.contains(point) {
                throw TorchError("no hook point '\(point)'; this model has: \(module.hookPointNames.prefix(40).joined(separator: ", ")) and \"output\"")
            }
            let run = try noGrad { try module.runWithCache(input, names: { points.contains($0) }) }
            (output, cache) = (run.output, run.cache.activations)
        }
        return try hookPoints.map { point in
            let target = point == FeatureObjective.output ? output : cache[point]
            guard let target else { throw TorchError("hook point '\(point)' was not reached in the forward pass") }
            return .match(hookPoint: point, target: try target[0].detached())
        }
    }
}
