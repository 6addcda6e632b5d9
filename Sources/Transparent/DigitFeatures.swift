import Torch

/// Five hand-made features of a digit image, the seed's example of features a person can read:
/// average brightness, average brightness of the outline (Sobel edge magnitude), number of
/// corners on the outline (Harris & Stephens 1988 corner response, local maxima above 10% of the
/// image's strongest), and the width and height of the ink's bounding box (pixels above 0.5).
/// All computed for a whole batch in a few convolutions and reductions.
public enum DigitFeatures {
    public static let names = ["brightness", "outline brightness", "corners", "width", "height"]

    /// images: (N, 1, H, W) in [0, 1]; returns (N, 5) float32.
    public static func compute(_ images: Tensor) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == 1 else {
            throw TorchError("hand-made digit features need (N, 1, H, W) grayscale images, got \(images.shape)")
        }
        let x = try images.to(.float32)
        let n = x.shape[0], height = x.shape[2], width = x.shape[3]
        let brightness = try x.mean(dims: [1, 2, 3])
        let sobelX = try Tensor([-1, 0, 1, -2, 0, 2, -1, 0, 1] as [Float], shape: [1, 1, 3, 3])
        let sobelY = try sobelX.transposed(2, 3).contiguous()
        let gx = try Functional.conv2d(x, weight: sobelX, bias: nil, padding: (1, 1))
        let gy = try Functional.conv2d(x, weight: sobelY, bias: nil, padding: (1, 1))
        let outline = try (gx * gx + gy * gy).sqrt().mean(dims: [1, 2, 3])

        // Harris: structure tensor summed over 3×3 windows, R = det − 0.05·trace².
        let window = try Tensor.ones([1, 1, 3, 3])
        func smooth(_ t: Tensor) throws -> Tensor { try Functional.conv2d(t, weight: window, bias: nil, padding: (1, 1)) }
        let xx = try smooth(gx * gx), yy = try smooth(gy * gy), xy = try smooth(gx * gy)
        let response = try xx * yy - xy * xy - (xx + yy).square() * 0.05
        let strongest = try response.flattened(from: 1).max(dims: [1]).reshaped([n, 1, 1, 1]).clamp(min: 1e-12)
        let peaks = try response.eq(Functional.maxPool2d(response, kernelSize: (3, 3), stride: (1, 1), padding: (1, 1)))
        let corners = try peaks.logicalAnd(response.gt(strongest * 0.1)).to(.float32).sum(dims: [1, 2, 3])

        let ink = try x.gt(0.5).squeezed(dim: 1)                 // (N, H, W)
        func extent(_ occupied: Tensor, _ length: Int) throws -> Tensor {
            let index = try Tensor.arange(0, Double(length), dtype: .float32)
            let last = try (occupied.to(.float32) * (index + 1)).max(dims: [1])
            let first = try (occupied.to(.float32) * (index - Double(length)) ).min(dims: [1]) + Double(length)
            return try (last - first).clamp(min: 0)
        }
        let boxWidth = try extent(ink.to(.int64).max(dims: [1]).gt(0), width)
        let boxHeight = try extent(ink.to(.int64).max(dims: [2]).gt(0), height)
        return try Tensor.stack([brightness, outline, corners, boxWidth, boxHeight], dim: 1)
    }
}
