import Foundation
import Torch

/// A PNG grid of grayscale images, each framed green (correct) or red (wrong)
/// with its predicted class drawn in the corner.
public enum PredictionGrid {
    /// 3×5 bitmaps of the digits 0–9, one row of three bits per entry.
    static let font: [[UInt8]] = [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 2, 2], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    ]

    /// images: (N, 1, H, W) in [0, 1]; predictions and labels: N class indices below 10.
    public static func render(images: Tensor, predictions: [Int], labels: [Int], columns: Int = 8, scale: Int = 3) throws -> Image {
        guard images.rank == 4, images.shape[1] == 1, predictions.count == images.shape[0], labels.count == predictions.count else {
            throw TorchError("a prediction grid needs (N, 1, H, W) images and N predictions and labels; got \(images.shape)")
        }
        let n = predictions.count, height = images.shape[2], width = images.shape[3]
        let border = 2, gap = 4
        let tileW = width * scale + 2 * border, tileH = height * scale + 2 * border
        let rows = (n + columns - 1) / columns
        let canvasW = columns * tileW + (columns + 1) * gap, canvasH = rows * tileH + (rows + 1) * gap
        var canvas = [UInt8](repeating: 255, count: canvasW * canvasH * 3)
        let gray = try (images.clamp(min: 0, max: 1) * 255.0).rounded().to(.uint8).scalars(as: UInt8.self)
        func put(_ x: Int, _ y: Int, _ rgb: (UInt8, UInt8, UInt8)) {
            let i = (y * canvasW + x) * 3
            canvas[i] = rgb.0; canvas[i + 1] = rgb.1; canvas[i + 2] = rgb.2
        }
        for k in 0..<n {
            let ox = gap + (k % columns) * (tileW + gap), oy = gap + (k / columns) * (tileH + gap)
            let frame: (UInt8, UInt8, UInt8) = predictions[k] == labels[k] ? (40, 160, 70) : (210, 40, 40)
            for y in 0..<tileH { for x in 0..<tileW { put(ox + x, oy + y, frame) } }
            for y in 0..<(height * scale) {
                for x in 0..<(width * scale) {
                    let v = gray[k * height * width + (y / scale) * width + x / scale]
                    put(ox + border + x, oy + border + y, (v, v, v))
                }
            }
            let digit = font[min(max(predictions[k], 0), 9)]
            let glyphScale = max(scale - 1, 1)
            for (row, bits) in digit.enumerated() {
                for col in 0..<3 where bits & (4 >> col) != 0 {
                    for dy in 0..<glyphScale {
                        for dx in 0..<glyphScale {
                            put(ox + border + 2 + col * glyphScale + dx, oy + border + 2 + row * glyphScale + dy, frame)
                        }
                    }
                }
            }
        }
        return try Image(width: canvasW, height: canvasH, channels: 3, pixels: canvas)
    }
}
