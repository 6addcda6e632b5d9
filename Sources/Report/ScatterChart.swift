import Foundation

/// An SVG scatter plot of labelled points, optionally on a log₁₀ x axis (for quantities that
/// span orders of magnitude, such as Lipschitz estimates across models).
public struct ScatterChart {
    public struct Point {
        public var x: Double, y: Double
        public var label: String
        public var color: String

        public init(x: Double, y: Double, label: String, color: String) {
            (self.x, self.y, self.label, self.color) = (x, y, label, color)
        }
    }

    public var title: String
    public var xLabel: String, yLabel: String
    public var points: [Point]
    public var logarithmicX = false
    public var width = 560, height = 340

    public init(title: String, xLabel: String, yLabel: String, points: [Point]) {
        (self.title, self.xLabel, self.yLabel, self.points) = (title, xLabel, yLabel, points)
    }

    public func svg() -> String {
        let left = 56.0, right = 16.0, top = 28.0, bottom = 40.0
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
        let shown = points.filter { $0.x.isFinite && $0.y.isFinite && (!logarithmicX || $0.x > 0) }
        func scaled(_ v: Double) -> Double { logarithmicX ? Foundation.log10(v) : v }
        func range(_ values: [Double]) -> (Double, Double) {
            var (low, high) = (values.min() ?? 0, values.max() ?? 1)
            if high - low < 1e-12 { (low, high) = (low - 0.5, high + 0.5) }
            let pad = (high - low) * 0.08
            return (low - pad, high + pad)
        }
        let (xLow, xHigh) = range(shown.map { scaled($0.x) }), (yLow, yHigh) = range(shown.map(\.y))
        func x(_ v: Double) -> Double { left + (scaled(v) - xLow) / (xHigh - xLow) * plotWidth }
        func y(_ v: Double) -> Double { top + (1 - (v - yLow) / (yHigh - yLow)) * plotHeight }
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"11\">"]
        parts.append("<text x=\"\(left)\" y=\"16\" font-size=\"13\">\(escapeHTML(title))</text>")
        for k in 0...4 {
            let v = yLow + (yHigh - yLow) * Double(k) / 4
            parts.append("<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(y(v))\" y2=\"\(y(v))\" stroke=\"#eee\"/>")
            parts.append("<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%.3g", v))</text>")
            let u = xLow + (xHigh - xLow) * Double(k) / 4
            let tick = logarithmicX ? Foundation.pow(10, u) : u
            parts.append("<text x=\"\(left + plotWidth * Double(k) / 4)\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(String(format: "%.3g", tick))</text>")
        }
        parts.append("<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#999\"/>")
        parts.append("<text x=\"\(left + plotWidth / 2)\" y=\"\(Double(height) - 6)\" text-anchor=\"middle\">\(escapeHTML(xLabel + (logarithmicX ? " (log scale)" : "")))</text>")
        parts.append("<text transform=\"translate(12 \(top + plotHeight / 2)) rotate(-90)\" text-anchor=\"middle\">\(escapeHTML(yLabel))</text>")
        for point in shown {
            let (px, py) = (x(point.x), y(point.y))
            parts.append(String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\"/>", px, py, point.color))
            let anchor = px > left + plotWidth * 0.7 ? "end" : "start"
            parts.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%@\">%@</text>", px + (anchor == "end" ? -6 : 6), py - 5, anchor, escapeHTML(point.label)))
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
