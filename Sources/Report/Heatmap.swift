import Torch

/// Attribution maps as pictures, the way Captum's `visualize_image_attr` draws them.
public enum Heatmap {
    /// Which part of the attribution to show.
    public enum Sign: String, CaseIterable, Sendable {
        case all, positive, negative, absoluteValue = "absolute_value"
    }

    /// How to draw it.
    public enum Style: String, CaseIterable, Sendable {
        /// The normalised map alone, through the sign's colormap.
        case heatMap = "heat_map"
        /// The heat map at `overlayAlpha` over the image in gray.
        case blendedHeatMap = "blended_heat_map"
        /// The image multiplied by the normalised map (needs a sign other than `.all`).
        case maskedImage = "masked_image"
        /// The image with the normalised map as its opacity (needs a sign other than `.all`).
        case alphaScaling = "alpha_scaling"
    }

    /// Sums channels and scales to [−1, 1] (`.all`) or [0, 1] (other signs), clipping the
    /// `outlierPercentile` percent of total attribution mass held by the largest values
    /// (Captum's cumulative-sum threshold, default 2%).
    ///
    /// `attribution` is (C, H, W) or (H, W); the result is (H, W).
    public static func normalize(_ attribution: Tensor, sign: Sign, outlierPercentile: Double = 2) throws -> Tensor {
        guard (0...100).contains(outlierPercentile) else { throw TorchError("outlier percentile must be in 0...100") }
        var map = try attribution.to(.float64)
        if map.rank == 3 { map = try map.sum(dims: [0]) }
        guard map.rank == 2 else { throw TorchError("a heat map needs a (C, H, W) or (H, W) attribution, got \(attribution.shape)") }
        let magnitude: Tensor
        switch sign {
        case .all: magnitude = try map.abs()
        case .positive: map = try map.clamp(min: 0); magnitude = map
        case .negative: map = try map.clamp(max: 0); magnitude = try map.abs()
        case .absoluteValue: map = try map.abs(); magnitude = map
        }
        var threshold = try cumulativeSumThreshold(magnitude, percentile: 100 - outlierPercentile)
        if sign == .negative { threshold = -threshold }
        guard Swift.abs(threshold) > 0 else { return try map.zerosLike().to(.float32) }
        return try (map / threshold).clamp(min: -1, max: 1).to(.float32)
    }

    /// The smallest value v such that the values ≤ v hold `percentile`% of the total.
    static func cumulativeSumThreshold(_ values: Tensor, percentile: Double) throws -> Double {
        let sorted = try values.reshaped([-1]).sorted().values
        let cumulative = try sorted.cumsum(dim: 0)
        let total = try cumulative[cumulative.count - 1].item()
        let below = try cumulative.lt(total * 0.01 * percentile).to(.int64).sum().itemInt()
        return try sorted[Swift.min(below, sorted.count - 1)].item()
    }

    /// Colormap stops (RGB in [0, 1]) at 0, ½ and 1, after matplotlib's maps that Captum uses.
    static func stops(for sign: Sign) -> [[Double]] {
        switch sign {
        case .all: [[1, 0, 0], [1, 1, 1], [0, 0.5, 0]]  // "RdWhGn": red, white, green
        case .positive: [[0.969, 0.988, 0.961], [0.455, 0.769, 0.463], [0, 0.267, 0.106]]  // Greens
        case .negative: [[1, 0.961, 0.941], [0.984, 0.416, 0.29], [0.404, 0, 0.051]]  // Reds
        case .absoluteValue: [[0.969, 0.984, 1], [0.42, 0.682, 0.839], [0.031, 0.188, 0.42]]  // Blues
        }
    }

    /// (H, W) values in [lo, hi] → (3, H, W) colours, piecewise linear through the stops.
    static func colorize(_ normalized: Tensor, sign: Sign) throws -> Tensor {
        let position = sign == .all ? try (normalized + 1.0) * 0.5 : normalized
        let s = try stops(for: sign).map { try Tensor($0.map { Float($0) }, shape: [3, 1, 1]) }
        let v = try position.clamp(min: 0, max: 1).unsqueezed(dim: 0)
        let lower = try s[0] + (s[1] - s[0]) * (v * 2.0)
        let upper = try s[1] + (s[2] - s[1]) * (v * 2.0 - 1.0)
        return try Tensor.where(v.lt(0.5), lower, upper)
    }

    /// Draws one attribution map. `image` is the input, (C, H, W) in [0, 1], needed by every style but `.heatMap`.
    public static func render(_ attribution: Tensor, image: Tensor? = nil, style: Style = .heatMap, sign: Sign = .absoluteValue,
                              outlierPercentile: Double = 2, overlayAlpha: Double = 0.5) throws -> Image {
        let normalized = try normalize(attribution, sign: sign, outlierPercentile: outlierPercentile)
        if style == .heatMap { return try Image(tensor: colorize(normalized, sign: sign)) }
        guard let image else { throw TorchError("the \(style.rawValue) style draws over the input image; pass it") }
        guard image.rank == 3, [1, 3].contains(image.shape[0]), Array(image.shape.dropFirst()) == normalized.shape else {
            throw TorchError("image shape \(image.shape) does not match the attribution map \(normalized.shape)")
        }
        let rgb = image.shape[0] == 1 ? try image.repeated([3, 1, 1]) : image
        switch style {
        case .heatMap:
            return try Image(tensor: colorize(normalized, sign: sign))
        case .blendedHeatMap:
            let gray = try rgb.mean(dims: [0], keepDims: true).repeated([3, 1, 1])
            return try Image(tensor: gray * (1 - overlayAlpha) + colorize(normalized, sign: sign) * overlayAlpha)
        case .maskedImage, .alphaScaling:
            guard sign != .all else { throw TorchError("\(style.rawValue) needs sign positive, negative or absolute_value") }
            if style == .maskedImage { return try Image(tensor: rgb * normalized.unsqueezed(dim: 0)) }
            let bytes = try (Tensor.cat([rgb, normalized.unsqueezed(dim: 0)]).permuted([1, 2, 0]).clamp(min: 0, max: 1) * 255.0)
                .rounded().to(.uint8).scalars(as: UInt8.self)
            return try Image(width: normalized.shape[1], height: normalized.shape[0], channels: 4, pixels: bytes)
        }
    }
}
