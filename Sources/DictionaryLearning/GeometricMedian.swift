import Torch

/// The geometric median of points (N, d) — the point with the least summed Euclidean distance
/// to them — by Weiszfeld's iteration in float64, started from the mean. Bricken et al. (2023)
/// start the decoder bias there: a centre that outliers move less than the mean.
public enum GeometricMedian {
    public static func of(_ points: Tensor, iterations: Int = 200, tolerance: Double = 1e-9) throws -> Tensor {
        guard points.rank == 2, points.shape[0] >= 1 else { throw TorchError("the geometric median needs points (N, d), got \(points.shape)") }
        let x = try points.to(.float64)
        var y = try x.mean(dims: [0])
        for _ in 0..<iterations {
            // Points at the current estimate get a large finite weight instead of an infinite one.
            let weights = try 1 / (x - y).norm(dims: [1], keepDims: true).clamp(min: 1e-12)
            let next = try (x * weights).sum(dims: [0]) / weights.sum()
            let moved = try (next - y).norm().item()
            y = next
            if moved <= tolerance * Swift.max(1, try y.norm().item()) { break }
        }
        return try y.to(points.dtype)
    }
}
