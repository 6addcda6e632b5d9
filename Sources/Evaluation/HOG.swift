import Foundation
import Torch

/// Histograms of oriented gradients (Dalal & Triggs 2005) with scikit-image's defaults
/// and conventions: central-difference gradients (zero on the border), `orientations`
/// unsigned bins over [0°, 180°), magnitudes summed per cell of `cell`×`cell` pixels and
/// divided by its area, L2-Hys normalisation (clip at 0.2) over blocks of `block`×`block`
/// cells sliding by one cell. Used by the sanity checks' HOG similarity (Adebayo et al. 2018).
public enum HOG {
    /// (N, H, W) images → (N, features).
    public static func features(_ images: Tensor, orientations: Int = 9, cell: Int = 8, block: Int = 3) throws -> Tensor {
        guard images.rank == 3 else { throw TorchError("HOG takes (N, H, W) images, got \(images.shape)") }
        let (n, h, w) = (images.shape[0], images.shape[1], images.shape[2])
        let cellsDown = h / cell, cellsAcross = w / cell
        guard cellsDown >= block, cellsAcross >= block else {
            throw TorchError("HOG needs at least \(block)×\(block) cells of \(cell) pixels; the images are \(h)×\(w)")
        }
        let x = try images.to(.float64)
        let rowGradient = try Tensor.cat([Tensor.zeros([n, 1, w], dtype: .float64),
                                          x.slice(dim: 1, start: 2, end: h) - x.slice(dim: 1, start: 0, end: h - 2),
                                          Tensor.zeros([n, 1, w], dtype: .float64)], dim: 1)
        let columnGradient = try Tensor.cat([Tensor.zeros([n, h, 1], dtype: .float64),
                                             x.slice(dim: 2, start: 2, end: w) - x.slice(dim: 2, start: 0, end: w - 2),
                                             Tensor.zeros([n, h, 1], dtype: .float64)], dim: 2)
        let magnitude = try (rowGradient.square() + columnGradient.square()).sqrt()
        let degrees = try (Tensor.atan2(rowGradient, columnGradient) * (180 / Double.pi)).remainder(180)
        let bins = try (degrees / (180 / Double(orientations))).floor().clamp(min: 0, max: Double(orientations - 1)).to(.int64)
        let votes = try bins.oneHot(classes: orientations).to(.float64) * magnitude.unsqueezed(dim: 3)
        let cells = try votes.slice(dim: 1, start: 0, end: cellsDown * cell).slice(dim: 2, start: 0, end: cellsAcross * cell)
            .reshaped([n, cellsDown, cell, cellsAcross, cell, orientations]).sum(dims: [2, 4]) / Double(cell * cell)
        var blocks: [Tensor] = []
        let eps = 1e-5
        for r in 0...(cellsDown - block) {
            for c in 0...(cellsAcross - block) {
                let v = try cells.slice(dim: 1, start: r, end: r + block).slice(dim: 2, start: c, end: c + block).reshaped([n, -1])
                let normalized = try (v / (v.square().sum(dims: [1], keepDims: true) + eps * eps).sqrt()).clamp(max: 0.2)
                blocks.append(try normalized / (normalized.square().sum(dims: [1], keepDims: true) + eps * eps).sqrt())
            }
        }
        return try Tensor.cat(blocks, dim: 1)
    }
}

extension Similarity {
    /// Pearson correlation of the maps' HOG features, each map rescaled to [0, 1] first.
    public static func hog(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try checkShapes(a, b)
        func prepared(_ t: Tensor) throws -> Tensor {
            var x = try t.to(.float64)
            if x.rank == 4 { x = try x.sum(dims: [1]) }
            let flat = try rows(x)
            let low = try flat.min(dims: [1], keepDims: true), high = try flat.max(dims: [1], keepDims: true)
            return try ((flat - low) / (high - low).clamp(min: 1e-12)).reshaped(x.shape)
        }
        return try pearson(HOG.features(prepared(a)), HOG.features(prepared(b)))
    }
}
