import ExplanationCore
import Torch

/// Deletion and insertion curves (Petsiuk, Das & Saenko 2018, RISE): features are removed
/// from the input (deletion) or added to the baseline (insertion) in order of decreasing
/// attribution, `steps` chunks at a time, and the target class probability is recorded.
/// The score is the area under the curve over the fraction of features changed: low is
/// good for deletion (the probability falls fast), high is good for insertion.
///
/// For images (N, C, H, W) pixels are ranked by their attribution summed over channels
/// and all channels of a pixel move together.
public struct DeletionInsertion: ExplanationMetric {
    public enum Mode: String, Sendable { case deletion, insertion }

    public var mode: Mode
    public var steps = 28
    /// What removed features become (deletion) or what insertion starts from; RISE
    /// inserts into a blurred copy.
    public var baseline: Baseline
    public var batchSize = 512
    public var name: String { mode.rawValue }
    public var higherIsBetter: Bool { mode == .insertion }

    public init(_ mode: Mode, steps: Int = 28, baseline: Baseline? = nil) {
        self.mode = mode
        self.steps = steps
        self.baseline = baseline ?? (mode == .deletion ? .zeros : .blurred(sigma: 2))
    }

    public func score(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        let curve = try curves(method, inputs: inputs, target: target, attributions: attributions)
        // Trapezoid rule over the fractions 0, 1/steps, …, 1.
        let inner = try curve.slice(dim: 1, start: 1, end: steps).sum(dims: [1])
        let ends = try (curve.select(dim: 1, index: 0) + curve.select(dim: 1, index: steps)) * 0.5
        return try (inner + ends) / Double(steps)
    }

    /// Target probabilities after 0, 1, …, `steps` chunks: (N, steps + 1).
    public func curves(_ method: AttributionMethod, inputs: Tensor, target: Target, attributions: Tensor?) throws -> Tensor {
        guard steps >= 1 else { throw TorchError("deletion/insertion needs at least one step") }
        let attribution = try explanation(method, inputs, target, attributions)
        let model = method.model
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let reference = try baseline.resolve(for: inputs)
        let n = inputs.shape[0]
        let image = inputs.rank == 4
        let scores = image ? try rows(attribution.sum(dims: [1])) : try rows(attribution)
        let f = scores.shape[1]
        // rank[i] = position of feature i in decreasing order of attribution.
        let order = try scores.to(.float64).sorted(dim: 1, descending: true).indices
        let rank = try Tensor.zeros([n, f], dtype: .int64).scatter(dim: 1, index: order,
                                                                   source: Tensor.arange(0, Double(f)).unsqueezed(dim: 0).expanded(to: [n, f]).contiguous())
        let counts = try Tensor((0...steps).map { Int64(($0 * f + steps / 2) / steps) }, shape: [1, steps + 1, 1])
        var curve: [Tensor] = []
        let perChunk = max(1, batchSize / n)
        try noGrad {
            for start in stride(from: 0, to: steps + 1, by: perChunk) {
                let end = min(steps + 1, start + perChunk)
                // changed: (N, k, F) — the first `count` features in rank order.
                var changed = try rank.unsqueezed(dim: 1).lt(counts.slice(dim: 1, start: start, end: end)).to(inputs.dtype)
                let k = end - start
                if image {
                    changed = try changed.reshaped([n, k, 1, inputs.shape[2], inputs.shape[3]])
                } else {
                    changed = try changed.reshaped([n, k] + Array(inputs.shape.dropFirst()))
                }
                let x = try inputs.unsqueezed(dim: 1), b = try reference.unsqueezed(dim: 1)
                let mixed = mode == .deletion ? try x + (b - x) * changed : try b + (x - b) * changed
                let flat = try mixed.reshaped([n * k] + Array(inputs.shape.dropFirst()))
                let probabilities = try model(flat).softmax(dim: 1)
                let repeated = try targets.unsqueezed(dim: 1).expanded(to: [n, k]).reshaped([-1, 1])
                curve.append(try probabilities.gather(dim: 1, index: repeated).reshaped([n, k]))
            }
        }
        return try Tensor.cat(curve, dim: 1).to(.float64)
    }
}
