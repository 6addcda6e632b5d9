import Torch

/// One PNG of images laid out in rows and columns (concept prototypes, examples), built
/// with a few tensor calls rather than a per-pixel loop.
public enum ImageMosaic {
    /// images: (rows, columns, 1 or 3, H, W) in [0, 1]; a white gap of `gap` pixels
    /// separates tiles, and every pixel is scaled up `scale` times.
    public static func render(_ images: Tensor, gap: Int = 2, scale: Int = 2) throws -> Image {
        guard images.rank == 5, [1, 3].contains(images.shape[2]), scale >= 1, gap >= 0 else {
            throw TorchError("a mosaic needs (rows, columns, 1 or 3, H, W) images, got \(images.shape)")
        }
        let (rows, columns, channels) = (images.shape[0], images.shape[1], images.shape[2])
        let (height, width) = (images.shape[3] * scale, images.shape[4] * scale)
        let (h, w) = (images.shape[3], images.shape[4])
        // Nearest-neighbour upscaling: each pixel becomes a scale × scale block.
        let scaled = try images.reshaped([rows * columns, channels, h, 1, w, 1])
            .expanded(to: [rows * columns, channels, h, scale, w, scale]).reshaped([rows * columns, channels, height, width])
        let tiles = try scaled.padded([gap, 0, gap, 0], value: 1)
            .reshaped([rows, columns, channels, height + gap, width + gap])
        let canvas = try tiles.permuted([2, 0, 3, 1, 4]).reshaped([channels, rows * (height + gap), columns * (width + gap)])
            .padded([0, gap, 0, gap], value: 1)
        return try Image(tensor: canvas.clamp(min: 0, max: 1))
    }
}
