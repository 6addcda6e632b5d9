import Foundation
import Torch

/// Random transformations applied to the images before every step, so the optimum must survive
/// small shifts, rescalings, rotations and blur (transformation robustness, Olah et al. 2017): what
/// survives is a feature, not a high-frequency pattern the network happens to respond to. One draw
/// per step, shared by the batch.
public struct ImageTransforms: Sendable {
    /// Shift by up to this many pixels in each direction (edges padded with mid-grey).
    public var jitter: Int
    /// Rescale by a factor drawn from this list, then centre-crop or pad back to the size.
    public var scales: [Double]
    /// Rotate by an angle (degrees) drawn from this list, about the centre; corners read mid-grey.
    public var rotations: [Double]
    /// Gaussian blur with a standard deviation (pixels) drawn uniformly from [0, blur] (0: none).
    /// Yosinski et al. (2015) blur the image itself as a regulariser; as a transform, patterns that
    /// only work unblurred stop paying.
    public var blur: Double

    public init(jitter: Int = 4, scales: [Double] = [1, 0.975, 1.025, 0.95, 1.05],
                rotations: [Double] = [-5, -2.5, 0, 0, 2.5, 5], blur: Double = 0) {
        (self.jitter, self.scales, self.rotations, self.blur) = (jitter, scales, rotations, blur)
    }

    public static let none = ImageTransforms(jitter: 0, scales: [1], rotations: [0], blur: 0)

    func apply(_ images: Tensor, random: inout SystemRandomNumberGeneratorSeeded) throws -> Tensor {
        let (h, w) = (images.shape[2], images.shape[3])
        var x = images
        if let scale = scales.randomElement(using: &random), scale != 1 {
            let (sh, sw) = (max(1, Int((Double(h) * scale).rounded())), max(1, Int((Double(w) * scale).rounded())))
            x = try Self.fit(Functional.upsampleBilinear(x, size: (sh, sw)), height: h, width: w)
        }
        if let degrees = rotations.randomElement(using: &random), degrees != 0 {
            x = try Self.rotated(x, degrees: degrees)
        }
        if blur > 0 {
            let sigma = Double.random(in: 0...blur, using: &random)
            if sigma >= 0.1 { x = try Self.blurred(x, sigma: sigma) }
        }
        if jitter > 0 {
            let dy = Int.random(in: -jitter...jitter, using: &random), dx = Int.random(in: -jitter...jitter, using: &random)
            x = try x.padded([jitter, jitter, jitter, jitter], value: 0.5)
                .slice(dim: 2, start: jitter + dy, end: jitter + dy + h).slice(dim: 3, start: jitter + dx, end: jitter + dx + w)
        }
        return x
    }

    /// Rotates (N, C, H, W) images counter-clockwise about their centre (bilinear), reading mid-grey
    /// outside. The map is written in pixel units, so non-square images are not sheared.
    static func rotated(_ x: Tensor, degrees: Double) throws -> Tensor {
        let (h, w) = (Double(x.shape[2]), Double(x.shape[3]))
        let angle = degrees * Double.pi / 180
        let (c, s) = (Foundation.cos(angle), Foundation.sin(angle))
        let theta = try Tensor([c, -s * h / w, 0, s * w / h, c, 0].map(Float.init), shape: [1, 2, 3])
            .expanded(to: [x.shape[0], 2, 3]).to(x.dtype)
        return try Functional.affineWarp(x - 0.5, theta: theta) + 0.5
    }

    /// Separable Gaussian blur (kernel radius ⌈3σ⌉, edges padded with mid-grey), channel by channel.
    static func blurred(_ x: Tensor, sigma: Double) throws -> Tensor {
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        let taps = (-radius...radius).map { Foundation.exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = taps.reduce(0, +)
        let channels = x.shape[1]
        let kernel = try Tensor(taps.map { Float($0 / total) }, shape: [1, 1, 1, taps.count]).to(x.dtype)
        let horizontal = try kernel.expanded(to: [channels, 1, 1, taps.count]).contiguous()
        let vertical = try horizontal.reshaped([channels, 1, taps.count, 1])
        let padded = try x.padded([radius, radius, radius, radius], value: 0.5)
        let rows = try Functional.conv2d(padded, weight: horizontal, bias: nil, groups: channels)
        return try Functional.conv2d(rows, weight: vertical, bias: nil, groups: channels)
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
