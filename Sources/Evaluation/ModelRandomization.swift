import ExplanationCore
import Foundation
import NN
import Torch

/// Model-parameter randomisation test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").
///
/// Re-initialises the weights of the model's layers — cumulatively from the output layer
/// down (`cascading`) or one layer at a time (`independent`) — recomputes the explanations
/// for the same inputs and classes, and measures how similar they stay to the original
/// ones. A method whose maps do not change when the model is destroyed is not explaining
/// the model. The model's weights are restored afterwards, also after an error.
public struct ModelRandomization {
    public enum Mode: String, Sendable { case cascading, independent }

    public var mode: Mode = .cascading
    public var seed: UInt64 = 0

    public init(_ mode: Mode = .cascading, seed: UInt64 = 0) {
        self.mode = mode
        self.seed = seed
    }

    /// One step of the test: which layers were random, the maps, and their similarity to the originals.
    public struct Step {
        public let randomizedLayers: [String]
        public let maps: Tensor
        /// Per measure: (N) similarities to the original maps.
        public let similarity: [String: Tensor]
    }

    /// Layers with weights, from the output back to the input.
    public static func layers(of model: Module) -> [String] {
        model.namedModules().filter { entry in
            entry.module.localParameters.contains { $0.name == "weight" && $0.tensor.rank >= 2 }
        }.map(\.path).reversed()
    }

    /// Step 0 is the trained model; then one step per layer.
    public func run(_ method: AttributionMethod, inputs: Tensor, target: Target) throws -> [Step] {
        guard let model = method.model.module else {
            throw TorchError("model randomisation needs a native Glassbox model (it re-initialises layers)")
        }
        let targets = try noGrad { try target.resolve(outputs: model(inputs)) }
        let fixedTarget = Target.indices(try targets.scalars(as: Int64.self).map { Int($0) })
        let saved = try model.stateDict().mapValues { try $0.detached().clone() }
        defer { try? model.loadStateDict(saved) }
        let original = try method.attribute(inputs, target: fixedTarget).values
        var steps = [Step(randomizedLayers: [], maps: original, similarity: try Self.similarities(original, original))]
        let generator = Generator(seed: seed)
        var randomized: [String] = []
        for layer in Self.layers(of: model) {
            if mode == .independent { try model.loadStateDict(saved) ; randomized = [] }
            try Self.reinitialize(model.namedModules().first { $0.path == layer }!.module, generator: generator)
            randomized.append(layer)
            let maps = try method.attribute(inputs, target: fixedTarget).values
            steps.append(Step(randomizedLayers: randomized, maps: maps, similarity: try Self.similarities(original, maps)))
        }
        return steps
    }

    /// Draws new weights and biases as PyTorch's default initialisation does: U(−1/√fanIn, 1/√fanIn).
    static func reinitialize(_ module: Module, generator: Generator) throws {
        guard let weight = module.localParameters.first(where: { $0.name == "weight" })?.tensor else { return }
        let fanIn = weight.shape.dropFirst().reduce(1, *)
        let bound = 1 / Foundation.sqrt(Double(max(fanIn, 1)))
        try noGrad {
            for (_, parameter) in module.localParameters {
                try parameter.copyInPlace(from: Tensor.rand(parameter.shape, dtype: parameter.dtype, generator: generator) * (2 * bound) - bound)
            }
        }
    }

    /// The sanity-check paper's measures between original and new maps (channels summed for images):
    /// Spearman (signed and absolute), Pearson, SSIM and HOG similarity where the maps are large enough.
    public static func similarities(_ original: Tensor, _ maps: Tensor) throws -> [String: Tensor] {
        let a = original.rank == 4 ? try original.sum(dims: [1]) : original
        let b = maps.rank == 4 ? try maps.sum(dims: [1]) : maps
        var result = [
            "spearman": try Similarity.spearman(a, b),
            "spearman-abs": try Similarity.spearman(a, b, absolute: true),
            "pearson": try Similarity.pearson(a, b),
        ]
        if a.rank == 3, a.shape[1] >= 7, a.shape[2] >= 7 {
            result["ssim"] = try Similarity.ssim(a.abs(), b.abs())
        }
        if a.rank == 3, a.shape[1] >= 24, a.shape[2] >= 24 {
            result["hog"] = try Similarity.hog(a.abs(), b.abs())
        }
        return result
    }
}
