import Foundation
import Torch

/// The reference input that "absence of a feature" means (Sundararajan et al. 2017 §3).
public enum Baseline: Sendable {
    /// All zeros (a black image for inputs in [0, 1]).
    case zeros
    /// Every feature set to one value.
    case value(Double)
    /// A given tensor: the input's shape, or that shape without the batch dimension.
    case tensor(Tensor)
    /// The input blurred by a Gaussian of standard deviation `sigma` pixels (Fong & Vedaldi 2017).
    case blurred(sigma: Double)
    /// Uniform noise in [low, high), seeded.
    case uniformNoise(low: Double, high: Double, seed: UInt64)

    /// The baseline for `x`, with `x`'s shape.
    public func resolve(for x: Tensor) throws -> Tensor {
        switch self {
        case .zeros: return try x.zerosLike()
        case .value(let v): return try Tensor.full(x.shape, value: v, dtype: x.dtype)
        case .tensor(let t):
            if t.shape == x.shape { return try t.to(x.dtype) }
            if t.shape == Array(x.shape.dropFirst()) || (t.rank == x.rank && t.shape[0] == 1 && Array(t.shape.dropFirst()) == Array(x.shape.dropFirst())) {
                return try t.reshaped([1] + Array(x.shape.dropFirst())).expanded(to: x.shape).to(x.dtype).contiguous()
            }
            throw TorchError("baseline shape \(t.shape) does not fit inputs of shape \(x.shape)")
        case .blurred(let sigma): return try gaussianBlur(x, sigma: sigma)
        case .uniformNoise(let low, let high, let seed):
            return try (Tensor.rand(x.shape, dtype: x.dtype, generator: Generator(seed: seed)) * (high - low) + low)
        }
    }
}

/// Blurs (N, C, H, W) images channel by channel with a Gaussian (radius 3σ), zero padding.
package func gaussianBlur(_ x: Tensor, sigma: Double) throws -> Tensor {
    guard x.rank == 4 else { throw TorchError("a blurred baseline needs (N, C, H, W) images, got \(x.shape)") }
    let side = max(x.shape[2], x.shape[3])
    guard sigma > 0, sigma <= Double(side) else {
        throw TorchError("blur sigma must be positive and at most the image's larger side (\(side) pixels), got \(sigma)")
    }
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    let weights = (-radius...radius).map { Foundation.exp(-Double($0 * $0) / (2 * sigma * sigma)) }
    let total = weights.reduce(0, +)
    let kernel = try Tensor(weights.map { Float($0 / total) })
    let channels = x.shape[1]
    let horizontal = try kernel.reshaped([1, 1, 1, 2 * radius + 1]).repeated([channels, 1, 1, 1]).to(x.dtype)
    let vertical = try kernel.reshaped([1, 1, 2 * radius + 1, 1]).repeated([channels, 1, 1, 1]).to(x.dtype)
    let once = try Functional.conv2d(x, weight: horizontal, bias: nil, padding: (0, radius), groups: channels)
    return try Functional.conv2d(once, weight: vertical, bias: nil, padding: (radius, 0), groups: channels)
}
