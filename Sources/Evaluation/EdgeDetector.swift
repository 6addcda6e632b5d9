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
}
