import ExplanationCore
import NN
import Torch

/// Averages another method over noisy copies of the input: SmoothGrad (Smilkov et al. 2017),
/// SmoothGrad² and VarGrad (Adebayo et al. 2018).
///
/// Noise is Gaussian with standard deviation `standardDeviation` in input units (as
/// Captum's `stdevs`), drawn from a generator seeded with `seed`. `noise` replaces the
/// draw with given noise of shape (samples · N, …), example-major, for reproducing
/// another library's run exactly.
public struct NoiseTunnel: AttributionMethod {
    public enum Kind: String, CaseIterable, Sendable {
        case smoothGrad = "smoothgrad"
        case smoothGradSquared = "smoothgrad_sq"
        case varGrad = "vargrad"
    }

    public let method: AttributionMethod
    public var kind: Kind = .smoothGrad
    public var samples = 50
    public var standardDeviation = 0.15
    public var seed: UInt64 = 0
    public var noise: Tensor?
    /// Noisy copies per call to the inner method; nil sends all at once.
    public var samplesPerBatch: Int?
    public var name: String { "noise-tunnel(\(kind.rawValue), \(method.name))" }
    public var model: Explainable { method.model }

    public init(_ method: AttributionMethod, kind: Kind = .smoothGrad, samples: Int = 50, standardDeviation: Double = 0.15, seed: UInt64 = 0) {
        self.method = method
        self.kind = kind
        self.samples = samples
        self.standardDeviation = standardDeviation
        self.seed = seed
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs)
        guard samples >= 1 else { throw TorchError("noise tunnel needs at least one sample") }
        guard standardDeviation >= 0 else { throw TorchError("noise standard deviation must be non-negative") }
        let n = inputs.shape[0]
        let featureShape = Array(inputs.shape.dropFirst())
        // Targets come from the clean inputs, so every noisy copy explains the same class.
        let targets = try resolveTargets(target, model: model, inputs: inputs).scalars(as: Int64.self).map(Int.init)
        let repeatedInputs = try inputs.repeatingRows(samples)
        let drawn: Tensor
        if let noise {
            guard noise.shape == [n * samples] + featureShape else {
                throw TorchError("given noise has shape \(noise.shape), expected \([n * samples] + featureShape)")
            }
            drawn = try noise.to(inputs.dtype)
        } else {
            drawn = try Tensor.randn([n * samples] + featureShape, dtype: inputs.dtype, generator: Generator(seed: seed)) * standardDeviation
        }
        let noisy = try repeatedInputs + drawn
        let repeatedTargets = targets.flatMap { Array(repeating: $0, count: samples) }
        let chunk = max(1, (samplesPerBatch ?? samples) * n)
        if kind == .smoothGrad, let saliency = method as? Saliency, !saliency.absoluteValue, let split = model.module?.affineSplit {
            return AttributionResult(values: try meanGradient(of: noisy, targets: repeatedTargets, examples: n, chunk: chunk, split: split))
        }
        var parts: [Tensor] = []
        for start in stride(from: 0, to: n * samples, by: chunk) {
            let end = min(n * samples, start + chunk)
            parts.append(try ProgressObserver.quietly {
                try method.attribute(noisy.slice(dim: 0, start: start, end: end), target: .indices(Array(repeatedTargets[start..<end]))).values
            })
            ProgressObserver.report("noisy copies", done: end, of: n * samples, unit: "rows")
        }
        let all = try Tensor.cat(parts).reshaped([n, samples] + Array(parts[0].shape.dropFirst()))
        switch kind {
        case .smoothGrad: return AttributionResult(values: try all.mean(dims: [1]))
        case .smoothGradSquared: return AttributionResult(values: try all.square().mean(dims: [1]))
        case .varGrad:
            // Population variance, as Captum: E[a²] − E[a]².
            return AttributionResult(values: try all.square().mean(dims: [1]) - all.mean(dims: [1]).square())
        }
    }

    /// SmoothGrad of the plain gradient through the model's affine front: the mean of the noisy
    /// copies' gradients at the front's output, taken back through the front once per example.
    func meanGradient(of noisy: Tensor, targets: [Int], examples n: Int, chunk: Int, split: AffineSplit) throws -> Tensor {
        let rest = ForwardFunction(split.rest)
        var total: Tensor?
        for start in stride(from: 0, to: n * samples, by: chunk) {
            let end = min(n * samples, start + chunk)
            let front = try noGrad { try split.front(noisy.slice(dim: 0, start: start, end: end)) }
            let grads = try inputGradients(rest, front, targets: Tensor(targets[start..<end].map { Int64($0) }, shape: [end - start]))
            let zeros = try total ?? Tensor.zeros([n] + Array(grads.shape.dropFirst()), dtype: grads.dtype)
            total = try accumulateRows(grads, into: zeros, owners: (start..<end).map { $0 / samples })
            ProgressObserver.report("noisy copies", done: end, of: n * samples, unit: "rows")
        }
        return try split.frontTransposed(total! / Double(samples), inputsLike: noisy.slice(dim: 0, start: 0, end: n))
    }
}
