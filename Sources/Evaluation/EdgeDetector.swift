import Foundation
import Torch

/// An explanation that ignores the model: the Sobel edge magnitude of the input
/// (Adebayo et al. 2018 show many saliency maps resemble it). Sanity checks compare
/// each method's maps with this baseline; high similarity is a warning sign.
public enum EdgeDetector {
    /// Sobel gradient magnitude of (N, C, H, W) images (channels averaged), (N, 1, H, W).
    public static func sobel(_ images: Tensor) throws -> Tensor {
        guard images.rank == 4 else { throw TorchError("the edge detector needs (N, C, H, W) images, got \(images.shape)") }
        let gray = try images.to(.float32).mean(dims: [1], keepDims: true)
        let kx = try Tensor([-1, 0, 1, -2, 0, 2, -1, 0, 1] as [Float], shape: [1, 1, 3, 3])
        let ky = try kx.transposed(2, 3).contiguous()
        let gx = try Functional.conv2d(gray, weight: kx, bias: nil, padding: (1, 1))
        let gy = try Functional.conv2d(gray, weight: ky, bias: nil, padding: (1, 1))
        return try (gx.square() + gy.square()).sqrt()
    }

    /// Canny edges (Canny 1986) of (N, C, H, W) images (channels averaged), as (N, 1, H, W) 0/1 maps:
    /// Gaussian smoothing (σ), Sobel gradients, non-maximum suppression along the gradient
    /// direction quantised to 0°, 45°, 90° and 135°, and hysteresis — pixels above `high` × the
    /// largest magnitude are edges, and pixels above `low` × it join them when connected.
    public static func canny(_ images: Tensor, sigma: Double = 1, low: Double = 0.1, high: Double = 0.2) throws -> Tensor {
        guard images.rank == 4 else { throw TorchError("the edge detector needs (N, C, H, W) images, got \(images.shape)") }
        guard 0 < low, low <= high, high < 1 else { throw TorchError("Canny thresholds need 0 < low ≤ high < 1") }
        let gray = try images.to(.float32).mean(dims: [1], keepDims: true)
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        let weights = (-radius...radius).map { Foundation.exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = weights.reduce(0, +)
        let kernel = try Tensor(weights.map { Float($0 / total) })
        func blur(_ t: Tensor) throws -> Tensor {
            let once = try Functional.conv2d(t, weight: kernel.reshaped([1, 1, 1, 2 * radius + 1]), bias: nil, padding: (0, radius))
            return try Functional.conv2d(once, weight: kernel.reshaped([1, 1, 2 * radius + 1, 1]), bias: nil, padding: (radius, 0))
        }
        // Dividing by the blurred all-ones image undoes the zero padding's darkening at the border.
        let smooth = try blur(gray) / blur(gray.onesLike())
        // Sobel on a copy whose border pixels are repeated, so the border is not an edge.
        let (rows, columns) = (smooth.shape[2], smooth.shape[3])
        let tall = try Tensor.cat([smooth.slice(dim: 2, start: 0, end: 1), smooth, smooth.slice(dim: 2, start: rows - 1, end: rows)], dim: 2)
        let extended = try Tensor.cat([tall.slice(dim: 3, start: 0, end: 1), tall, tall.slice(dim: 3, start: columns - 1, end: columns)], dim: 3)
        let kx = try Tensor([-1, 0, 1, -2, 0, 2, -1, 0, 1] as [Float], shape: [1, 1, 3, 3])
        let gx = try Functional.conv2d(extended, weight: kx, bias: nil)
        let gy = try Functional.conv2d(extended, weight: kx.transposed(2, 3).contiguous(), bias: nil)
        let magnitude = try (gx.square() + gy.square()).sqrt()
        // Direction in [0°, 180°) → sector 0…3 (horizontal gradient, 45°, vertical, 135°).
        let angle = try (Tensor.atan2(gy, gx) * (180 / Double.pi)).remainder(180)
        let sector = try ((angle + 22.5) / 45).floor().remainder(4)
        let (h, w) = (images.shape[2], images.shape[3])
        let padded = try magnitude.padded([1, 1, 1, 1])
        func shifted(_ dy: Int, _ dx: Int) throws -> Tensor {
            try padded.slice(dim: 2, start: 1 + dy, end: 1 + dy + h).slice(dim: 3, start: 1 + dx, end: 1 + dx + w)
        }
        // Neighbours along the gradient for each sector (rows grow downwards).
        let offsets = [((0, 1), (0, -1)), ((1, 1), (-1, -1)), ((1, 0), (-1, 0)), ((1, -1), (-1, 1))]
        var isMaximum = try magnitude.zerosLike().to(.bool)
        for (index, (a, b)) in offsets.enumerated() {
            let local = try magnitude.ge(shifted(a.0, a.1)).logicalAnd(magnitude.ge(shifted(b.0, b.1)))
            isMaximum = try isMaximum.logicalOr(sector.eq(Double(index)).logicalAnd(local))
        }
        let peak = try magnitude.reshaped([magnitude.shape[0], -1]).max(dims: [1]).reshaped([-1, 1, 1, 1]).clamp(min: 1e-12)
        let relative = try magnitude / peak
        let candidate = try isMaximum.logicalAnd(relative.gt(0))
        let weak = try candidate.logicalAnd(relative.ge(low)).to(.float32)
        var edges = try candidate.logicalAnd(relative.ge(high)).to(.float32)
        // Hysteresis: grow strong edges through connected weak pixels until nothing changes.
        for _ in 0..<(h * w) {
            let grown = try Functional.maxPool2d(edges, kernelSize: (3, 3), stride: (1, 1), padding: (1, 1)) * weak
            let next = try Tensor.maximum(edges, grown)
            if try next.sum().item() == edges.sum().item() { break }
            edges = next
        }
        return edges
    }
}
