import ExplanationCore
import Foundation
import NN
import Torch

/// Activation maximisation (Erhan et al. 2009; Olah et al. 2017): images that maximise each
/// objective, optimised together in one batch with Adam, under random transforms, with optional
/// L2 and L1 (towards mid-grey) and total-variation penalties. Any hook point of a native model; the
/// outputs (logit, probability) of TorchScript models and functions.
public struct FeatureVisualization {
    public let model: Explainable
    public var objectives: [FeatureObjective]
    public var parametrization: ImageParametrization = .fourier
    public var transforms = ImageTransforms()
    public var steps = 256
    public var learningRate = 0.05
    /// Cosine annealing of the learning rate to 0 over the steps (else constant).
    public var annealing = false
    /// Weight of the mean squared distance from mid-grey (0.5).
    public var l2Penalty = 0.0
    /// Weight of the mean absolute distance from mid-grey (sparser departures than L2's).
    public var l1Penalty = 0.0
    /// Weight of the mean total variation (absolute differences of neighbouring pixels).
    public var totalVariation = 0.0
    /// Pushes images of the same objective apart (see `Diversity`).
    public var diversity: Diversity?
    /// Applied to the images before the model (e.g. ImageNet normalisation).
    public var preprocess: ((Tensor) throws -> Tensor)?
    public var seed: UInt64 = 0

    public init(_ model: Explainable, objectives: [FeatureObjective]) {
        (self.model, self.objectives) = (model, objectives)
    }

    public struct Result {
        /// (N, C, H, W) in [0, 1], one image per objective.
        public var images: Tensor
        /// Each objective's value on its final image (without transforms).
        public var values: [Double]
        /// Every 16th step: each objective's value then (with that step's transform).
        public var trace: [[Double]]
    }

    /// Optimises one image of `shape` (C, H, W) per objective (first-order gradients only).
    public func run(imageShape shape: [Int]) throws -> Result {
        try firstOrderInputLoop(inputElements: objectives.count * shape.reduce(1, *)) { try optimise(imageShape: shape) }
    }

    func optimise(imageShape shape: [Int]) throws -> Result {
        guard shape.count == 3, shape.allSatisfy({ $0 >= 1 }), shape[1] >= 2, shape[2] >= 2 else {
            throw TorchError("feature visualisation needs an image shape (C, H, W), got \(shape)")
        }
        guard !objectives.isEmpty else { throw TorchError("name at least one objective") }
        guard steps >= 1, learningRate > 0, l2Penalty >= 0, l1Penalty >= 0, totalVariation >= 0 else {
            throw TorchError("feature visualisation needs steps ≥ 1, a positive learning rate and penalties ≥ 0")
        }
        try checkHookPoints()
        if let diversity { try diversity.validate() }
        let groups = diversity == nil ? [] : Diversity.groups(of: objectives)
        let generator = Generator(seed: seed)
        var random = SystemRandomNumberGeneratorSeeded(seed: seed)
        let bases = parametrization == .fourier ? try FourierBases(height: shape[1], width: shape[2]) : nil
        let parameters = try parametrization.initialParameters(count: objectives.count, shape: shape, generator: generator).requiringGrad()
        let adam = Adam([parameters], learningRate: learningRate)
        var trace: [[Double]] = []
        for step in 0..<steps {
            if annealing { adam.learningRate = learningRate * 0.5 * (1 + Foundation.cos(Double.pi * Double(step) / Double(steps))) }
            let (loss, values) = try withGrad { () -> (Tensor, Tensor) in
                let images = try parametrization.images(parameters, bases: bases)
                let (values, cache) = try evaluate(transforms.apply(images, random: &random))
                var loss = try -values.sum()
                if let diversity, let activations = cache[diversity.hookPoint] {
                    loss = try loss + diversity.penalty(activations, groups: groups) * diversity.weight
                }
                if l2Penalty > 0 { loss = try loss + (images - 0.5).square().flattened(from: 1).mean(dims: [1]).sum() * l2Penalty }
                if l1Penalty > 0 { loss = try loss + (images - 0.5).abs().flattened(from: 1).mean(dims: [1]).sum() * l1Penalty }
                if totalVariation > 0 { loss = try loss + Self.totalVariation(images).sum() * totalVariation }
                return (loss, values)
            }
            try parameters.setGrad(Tensor.grad(of: loss, wrt: parameters))
            try adam.step()
            if step % 16 == 0 || step == steps - 1 { trace.append(try values.detached().to(.float64).scalars(as: Double.self)) }
            ProgressObserver.report("visualise", done: step + 1, of: steps, unit: "steps", status: String(format: "mean objective %.3f", (trace.last?.reduce(0, +) ?? 0) / Double(objectives.count)))
        }
        let images = try noGrad { try parametrization.images(parameters, bases: bases) }
        let final = try noGrad { try objectiveValues(images) }.to(.float64).scalars(as: Double.self)
        return Result(images: images, values: final, trace: trace)
    }

    /// Each image's own objective: one forward pass, the hook points it needs cached.
    func objectiveValues(_ images: Tensor) throws -> Tensor { try evaluate(images).values }

    /// Each image's own objective and the activations at the hook points read (objectives and diversity).
    func evaluate(_ images: Tensor) throws -> (values: Tensor, cache: [String: Tensor]) {
        let input = try preprocess?(images) ?? images
        let points = hookPoints
        var output: Tensor, cache: [String: Tensor] = [:]
        if points.isEmpty {
            output = try model(input)
        } else {
            guard let module = model.module else { throw TorchError("objectives at hook points need a native Glassbox model") }
            let run = try module.runWithCache(input, names: { points.contains($0) })
            (output, cache) = (run.output, run.cache.activations)
        }
        guard output.rank == 2 || !objectives.contains(where: { $0.readsOutput }) else {
            throw TorchError("logit and probability objectives need outputs (N, classes); this model gives \(output.shape)")
        }
        let values = try Tensor.stack(objectives.enumerated().map { try $0.element.value(row: $0.offset, output: output, cache: cache) }, dim: 0)
        return (values, cache)
    }

    var hookPoints: Set<String> {
        objectives.reduce(into: Set<String>(diversity.map { [$0.hookPoint] } ?? [])) { $0.formUnion($1.hookPoints) }
    }

    /// Checks once, before a loop, that the objectives' hook points exist on a native model.
    func checkHookPoints() throws {
        let points = hookPoints
        guard !points.isEmpty else { return }
        guard let module = model.module else {
            throw TorchError("objectives at hook points (\(points.sorted().joined(separator: ", "))) need a native Glassbox model; a TorchScript model or function offers logit:K and probability:K")
        }
        try module.checkHookPoints(points.sorted())
    }

    /// Mean absolute difference of vertical and horizontal neighbours, per image.
    static func totalVariation(_ x: Tensor) throws -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        let dy = try (x.slice(dim: 2, start: 1, end: h) - x.slice(dim: 2, start: 0, end: h - 1)).abs().flattened(from: 1).mean(dims: [1])
        let dx = try (x.slice(dim: 3, start: 1, end: w) - x.slice(dim: 3, start: 0, end: w - 1)).abs().flattened(from: 1).mean(dims: [1])
        return try dy + dx
    }
}

extension FeatureObjective {
    var readsOutput: Bool {
        switch self {
        case .logit, .probability: return true
        case .match(let point, _): return point == FeatureObjective.output
        case .sum(let parts): return parts.contains { $0.objective.readsOutput }
        default: return false
        }
    }
}
