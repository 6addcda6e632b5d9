import Torch

/// Measures that read a layer one neuron (axis) at a time, and so depend on the basis.
/// Activations are (N, d): one row per input.
public struct NeuronStatistics: Sendable, Codable {
    /// Share of (input, neuron) entries that are inactive: |a| ≤ 1e-6 · the largest |a| of the layer.
    public var inactiveShare: Double
    /// Mean over neurons of the excess kurtosis of the neuron's activation over inputs
    /// (neurons that never vary are left out).
    public var meanExcessKurtosis: Double
    /// Per neuron, the inputs with the largest activation, largest first.
    public var topInputs: [[Int]]

    public init(activations: Tensor, top: Int = 9) throws {
        guard activations.rank == 2, activations.shape[0] >= 2 else {
            throw TorchError("neuron statistics need activations (inputs ≥ 2, neurons), got \(activations.shape)")
        }
        let a = try activations.to(.float64)
        let largest = try a.abs().max().item()
        inactiveShare = try a.abs().le(1e-6 * largest).to(.float64).mean().item()
        let centered = try a - a.mean(dims: [0], keepDims: true)
        let variance = try centered.square().mean(dims: [0])
        let fourth = try centered.square().square().mean(dims: [0])
        let kurtosis = try (fourth / variance.square().clamp(min: 1e-300) - 3).scalars(as: Double.self)
        let varying = zip(kurtosis, try variance.scalars(as: Double.self)).filter { $0.1 > 1e-12 * max(largest * largest, 1e-300) }.map(\.0)
        meanExcessKurtosis = varying.isEmpty ? .nan : varying.reduce(0, +) / Double(varying.count)
        let indices = try a.topk(min(top, a.shape[0]), dim: 0).indices.transposed(0, 1).contiguous()
        let flat = try indices.scalars(as: Int64.self).map(Int.init)
        let k = indices.shape[1]
        topInputs = (0..<indices.shape[0]).map { Array(flat[($0 * k)..<($0 * k + k)]) }
    }

    /// Mean over neurons of the share of neuron i's top inputs that are also `other`'s neuron i's.
    public func topInputOverlap(with other: NeuronStatistics) -> Double {
        let shares = zip(topInputs, other.topInputs).map { Double(Set($0).intersection($1).count) / Double(max($0.count, 1)) }
        return average(shares)
    }
}
