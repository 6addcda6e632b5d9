import Torch

/// Signed maps drawn blue (negative) – white (zero) – red (positive) on one shared scale, so
/// that maps compare with each other (class weight images, gradients beside weights).
public enum DivergingMap {
    /// maps: (N, H, W); every map is divided by `scale` (default: the largest |value| of all of them).
    /// Returns (N, 3, H, W) colours in [0, 1].
    public static func colors(_ maps: Tensor, scale: Double? = nil) throws -> Tensor {
        guard maps.rank == 3 else { throw TorchError("diverging maps need (N, H, W) values, got \(maps.shape)") }
        let values = try maps.to(.float32)
        let bound = try scale ?? values.abs().max().item()
        let v = try (values / Swift.max(bound, 1e-12)).clamp(min: -1, max: 1)
        let red = try 1 - (v * -1).clamp(min: 0), green = try 1 - v.abs(), blue = try 1 - v.clamp(min: 0)
        return try Tensor.stack([red, green, blue], dim: 1)
    }
}
