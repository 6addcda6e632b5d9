import Torch

/// Batch-level data augmentation for image tensors (N, C, H, W).
public enum Augmentation {
    /// Shifts the whole batch by one random offset of up to `maxPixels` in each
    /// direction, filling with zeros: two tensor calls per batch, no per-image loop.
    public static func randomShift(_ x: Tensor, maxPixels: Int, generator: Generator) throws -> Tensor {
        guard x.rank == 4 else { throw TorchError("random shift expects (N, C, H, W), got \(x.shape)") }
        let (height, width) = (x.shape[2], x.shape[3])
        let offsets = try Tensor.randint(0, 2 * maxPixels + 1, shape: [2], generator: generator).scalars(as: Int64.self).map(Int.init)
        let padded = try x.padded([maxPixels, maxPixels, maxPixels, maxPixels])
        return try padded.slice(dim: 2, start: offsets[0], end: offsets[0] + height)
            .slice(dim: 3, start: offsets[1], end: offsets[1] + width)
    }
}
