import ExplanationCore
import Foundation
import NN
import Torch

/// DeepDream (Mordvintsev, Olah & Tyka 2015, "Inceptionism"): gradient ascent on an objective —
/// usually a layer's mean square — starting from a given image rather than noise, over octaves:
/// the image is processed from a small scale up (each octave upsampled to the full size before
/// the model, so models with a fixed input size work), and the detail found at each scale is
/// carried, upsampled, to the next. Steps are normalised by the gradient's mean absolute value; a random
/// shift (jitter) each step keeps the patterns from locking to the pixel grid.
public struct DeepDream {
    public let model: Explainable
    public var objective: FeatureObjective
    public var settings = Settings()
    public var preprocess: ((Tensor) throws -> Tensor)?
    public var seed: UInt64 = 0

    public struct Settings: Sendable {
        public var octaves = 3
        /// Each octave is this many times larger than the one before.
        public var octaveScale = 1.4
        public var stepsPerOctave = 20
        public var stepSize = 0.01
        public var jitter = 2
        public init() {}
    }

    public init(_ model: Explainable, objective: FeatureObjective) {
        (self.model, self.objective) = (model, objective)
    }

    public struct Result {
        /// (C, H, W) in [0, 1].
        public var image: Tensor
        /// The objective on the original image and on the dream.
        public var before: Double, after: Double
    }

    /// Dreams on `image` (C, H, W), values in [0, 1].
    public func run(_ image: Tensor) throws -> Result {
        let (octaves, octaveScale, stepsPerOctave, stepSize, jitter) = (settings.octaves, settings.octaveScale, settings.stepsPerOctave, settings.stepSize, settings.jitter)
        guard image.rank == 3, image.shape[1] >= 2, image.shape[2] >= 2 else { throw TorchError("DeepDream takes one image (C, H, W), got \(image.shape)") }
        guard try image.allFinite(), try image.min().item() >= 0, try image.max().item() <= 1 else { throw TorchError("the image's values must be finite and in [0, 1]") }
        guard (1...10).contains(octaves), octaveScale >= 1, stepsPerOctave >= 1, stepSize > 0, jitter >= 0 else {
            throw TorchError("DeepDream needs 1 to 10 octaves, an octave scale ≥ 1, steps ≥ 1, a positive step size and jitter ≥ 0")
        }
        var search = FeatureVisualization(model, objectives: [objective])
        search.preprocess = preprocess
        let (h, w) = (image.shape[1], image.shape[2])
        let base = try image.unsqueezed(dim: 0).to(.float32)
        let sizes = (0..<octaves).reversed().map { k -> (Int, Int) in
            let factor = Foundation.pow(octaveScale, Double(k))
            return (max(2, Int((Double(h) / factor).rounded())), max(2, Int((Double(w) / factor).rounded())))
        }
        var random = SystemRandomNumberGeneratorSeeded(seed: seed)
        var detail = try Tensor.zeros([1, image.shape[0], sizes[0].0, sizes[0].1])
        var dream = base
        try search.checkHookPoints()
        try firstOrderInputLoop(inputElements: image.count) {
            for (index, size) in sizes.enumerated() {
                let scaled = size == (h, w) ? base : try Functional.upsampleBilinear(base, size: size)
                if index > 0 { detail = try Functional.upsampleBilinear(detail, size: size) }
                var x = try (scaled + detail).clamp(min: 0, max: 1)
                for _ in 0..<stepsPerOctave {
                    let (dy, dx) = (Int.random(in: -jitter...jitter, using: &random), Int.random(in: -jitter...jitter, using: &random))
                    let variable = try x.requiringGrad()
                    let value = try withGrad { () -> Tensor in
                        // The model sees the octave upsampled to the full size (models with a fixed
                        // input size, like a CNN with a linear head, need it), shifted by the jitter.
                        let full = size == (h, w) ? variable : try Functional.upsampleBilinear(variable, size: (h, w))
                        return try search.objectiveValues(Self.roll(full, dy, dx)).sum()
                    }
                    let gradient = try Tensor.grad(of: value, wrt: variable)
                    x = try (x + gradient / gradient.abs().mean().clamp(min: 1e-12) * stepSize).clamp(min: 0, max: 1).detached()
                }
                detail = try x - scaled
                dream = x
            }
        }
        let before = try noGrad { try search.objectiveValues(base) }.item()
        let after = try noGrad { try search.objectiveValues(dream) }.item()
        return Result(image: try dream[0], before: before, after: after)
    }

    /// Shifts an (N, C, H, W) batch cyclically by (dy, dx).
    static func roll(_ x: Tensor, _ dy: Int, _ dx: Int) throws -> Tensor {
        func shift(_ t: Tensor, _ by: Int, dim: Int) throws -> Tensor {
            let n = t.shape[dim], k = ((by % n) + n) % n
            guard k != 0 else { return t }
            return try Tensor.cat([t.slice(dim: dim, start: n - k, end: n), t.slice(dim: dim, start: 0, end: n - k)], dim: dim)
        }
        return try shift(shift(x, dy, dim: 2), dx, dim: 3)
    }
}
