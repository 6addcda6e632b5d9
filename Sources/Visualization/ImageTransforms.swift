import Foundation
import Torch

/// Random transformations applied to the images before every step, so the optimum must survive
/// small shifts and rescalings (transformation robustness, Olah et al. 2017): what survives is a
/// feature, not a high-frequency pattern the network happens to respond to.
public struct ImageTransforms: Sendable {
    /// Shift by up to this many pixels in each direction (edges padded with mid-grey).
    public var jitter: Int
    /// Rescale by a factor drawn from this list, then centre-crop or pad back to the size.
    public var scales: [Double]

    public init(jitter: Int = 4, scales: [Double] = [1, 0.975, 1.025, 0.95, 1.05]) {
        (self.jitter, self.scales) = (jitter, scales)
    }

    public static let none = ImageTransforms(jitter: 0, scales: [1])

    func apply(_ images: Tensor, random: inout SystemRandomNumberGeneratorSeeded) throws -> Tensor {
        let (h, w) = (images.shape[2], images.shape[3])
        var x = images
        if let scale = scales.randomElement(using: &random), scale != 1 {
            let (sh, sw) = (max(1, Int((Double(h) * scale).rounded())), max(1, Int((Double(w) * scale).rounded())))
            x = try Self.fit(Functional.upsampleBilinear(x, size: (sh, sw)), height: h, width: w)
        }
        if jitter > 0 {
            let dy = Int.random(in: -jitter...jitter, using: &random), dx = Int.random(in: -jitter...jitter, using: &random)
            x = try x.padded([jitter, jitter, jitter, jitter], value: 0.5)
                .slice(dim: 2, start: jitter + dy, end: jitter + dy + h).slice(dim: 3, start: jitter + dx, end: jitter + dx + w)
        }
        return x
    }

    /// Centre-crops or pads (mid-grey) (N, C, h, w) images to height × width.
    static func fit(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        var y = x
        let (h, w) = (x.shape[2], x.shape[3])
        if h < height || w < width {
            let ph = max(0, height - h), pw = max(0, width - w)
            y = try y.padded([pw / 2, pw - pw / 2, ph / 2, ph - ph / 2], value: 0.5)
        }
        let (h2, w2) = (y.shape[2], y.shape[3])
        let top = (h2 - height) / 2, left = (w2 - width) / 2
        return try y.slice(dim: 2, start: top, end: top + height).slice(dim: 3, start: left, end: left + width)
    }
}

/// A seeded generator for the transforms' choices (SplitMix64), so a seed repeats a run.
struct SystemRandomNumberGeneratorSeeded: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
