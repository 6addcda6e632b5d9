import Foundation
import Torch

/// Similarity between explanation maps, as the randomisation sanity checks use them
/// (Adebayo et al. 2018). Every function compares row by row: (N, …) × (N, …) → (N).
public enum Similarity {
    /// Pearson correlation of the flattened maps.
    public static func pearson(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try checkShapes(a, b)
        let x = try centred(rows(a).to(.float64)), y = try centred(rows(b).to(.float64))
        let denominator = try (x.norm(dims: [1]) * y.norm(dims: [1])).clamp(min: 1e-300)
        return try (x * y).sum(dims: [1]) / denominator
    }

    /// Spearman rank correlation: Pearson correlation of the ranks (ties get their average rank).
    /// With `absolute`, ranks |a| and |b|, as the sanity-check paper's "absolute" variant.
    public static func spearman(_ a: Tensor, _ b: Tensor, absolute: Bool = false) throws -> Tensor {
        try checkShapes(a, b)
        let x = absolute ? try a.abs() : a, y = absolute ? try b.abs() : b
        return try pearson(ranks(rows(x)), ranks(rows(y)))
    }

    /// Ranks 1…F along each row, ties sharing the average of their ranks (as scipy.stats.rankdata):
    /// sort, number the runs of equal values, average the positions within each run.
    static func ranks(_ x: Tensor) throws -> Tensor {
        let values = try x.to(.float64)
        let (n, f) = (values.shape[0], values.shape[1])
        let (sorted, order) = try values.sorted(dim: 1)
        let changes = try sorted.slice(dim: 1, start: 1, end: f).ne(sorted.slice(dim: 1, start: 0, end: f - 1)).to(.int64)
        let run = try Tensor.cat([Tensor.zeros([n, 1], dtype: .int64), changes.cumsum(dim: 1)], dim: 1)
        let positions = try Tensor.arange(1, Double(f + 1), dtype: .float64).unsqueezed(dim: 0).expanded(to: [n, f]).contiguous()
        let zeros = try Tensor.zeros([n, f], dtype: .float64)
        let totals = try zeros.scatter(dim: 1, index: run, source: positions, accumulate: true)
        let counts = try zeros.scatter(dim: 1, index: run, source: positions.onesLike(), accumulate: true)
        let averaged = try (totals / counts.clamp(min: 1)).gather(dim: 1, index: run)
        return try zeros.scatter(dim: 1, index: order, source: averaged)
    }

    /// Mean structural similarity (Wang et al. 2004) of (N, H, W) or (N, 1, H, W) maps, each
    /// rescaled to [0, 1] first, with a 7×7 uniform window (scikit-image's defaults).
    public static func ssim(_ a: Tensor, _ b: Tensor, window: Int = 7) throws -> Tensor {
        try checkShapes(a, b)
        func images(_ t: Tensor) throws -> Tensor {
            var x = try t.to(.float64)
            if x.rank == 3 { x = try x.unsqueezed(dim: 1) }
            guard x.rank == 4, x.shape[1] == 1 else { throw TorchError("SSIM compares single-channel maps, got \(t.shape)") }
            let flat = try rows(x)
            let low = try flat.min(dims: [1], keepDims: true), high = try flat.max(dims: [1], keepDims: true)
            return try ((flat - low) / (high - low).clamp(min: 1e-12)).reshaped(x.shape)
        }
        let x = try images(a), y = try images(b)
        guard x.shape[2] >= window, x.shape[3] >= window else { throw TorchError("SSIM needs maps of at least \(window)×\(window)") }
        let kernel = try Tensor.full([1, 1, window, window], value: 1 / Double(window * window), dtype: .float64)
        func mean(_ t: Tensor) throws -> Tensor { try Functional.conv2d(t, weight: kernel, bias: nil) }
        let n = Double(window * window)
        let correction = n / (n - 1)  // sample covariance, as scikit-image
        let mx = try mean(x), my = try mean(y)
        let vx = try (mean(x * x) - mx * mx) * correction
        let vy = try (mean(y * y) - my * my) * correction
        let cxy = try (mean(x * y) - mx * my) * correction
        let c1 = 0.0001, c2 = 0.0009  // (0.01 · range)², (0.03 · range)², range 1
        let map = try ((mx * my * 2 + c1) * (cxy * 2 + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        return try rows(map).mean(dims: [1])
    }

    static func checkShapes(_ a: Tensor, _ b: Tensor) throws {
        guard a.shape == b.shape, a.rank >= 2 else {
            throw TorchError("similarity needs two batches of the same shape, got \(a.shape) and \(b.shape)")
        }
    }

    static func centred(_ x: Tensor) throws -> Tensor {
        try x - x.mean(dims: [1], keepDims: true)
    }
}
