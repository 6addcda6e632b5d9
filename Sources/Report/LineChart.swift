import Foundation

/// An SVG line chart of one or more series over a shared x axis.
public struct LineChart {
    public struct Series {
        public var name: String
        public var values: [Double]
        public var color: String

        public init(name: String, values: [Double], color: String) {
            self.name = name
            self.values = values
            self.color = color
        }
    }

    public var title: String
    public var xLabel: String
    public var series: [Series]
    public var width = 560
    public var height = 300
    /// Labels for the x positions (default: 1, 2, 3, …).
    public var xTicks: [String]?

    public init(title: String, xLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.series = series
    }

    public func svg() -> String {
        let left = 56.0, right = 16.0, top = 28.0, bottom = 40.0
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
        let all = series.flatMap(\.values).filter(\.isFinite)
        let count = series.map(\.values.count).max() ?? 0
        var low = all.min() ?? 0, high = all.max() ?? 1
        if high - low < 1e-12 { low -= 0.5; high += 0.5 }
        let pad = (high - low) * 0.05
        low -= pad
        high += pad
        func x(_ i: Int) -> Double { left + (count > 1 ? Double(i) / Double(count - 1) : 0.5) * plotWidth }
        func y(_ v: Double) -> Double { top + (1 - (v - low) / (high - low)) * plotHeight }
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"11\">"]
        parts.append("<text x=\"\(left)\" y=\"16\" font-size=\"13\">\(escapeHTML(title))</text>")
        for k in 0...4 {
            let v = low + (high - low) * Double(k) / 4
            parts.append("<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(y(v))\" y2=\"\(y(v))\" stroke=\"#eee\"/>")
            parts.append("<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%.3g", v))</text>")
        }
        let every = Swift.max(1, (count + 19) / 20)
        for i in Swift.stride(from: 0, to: count, by: every) {
            let tick = xTicks.map { i < $0.count ? $0[i] : "" } ?? String(i + 1)
            parts.append("<text x=\"\(x(i))\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(escapeHTML(tick))</text>")
        }
        // The legend goes in the right-hand corner the series end farther from.
        let ends = series.compactMap { $0.values.last(where: \.isFinite) }
        let endsHigh = !ends.isEmpty && ends.reduce(0, +) / Double(ends.count) > (low + high) / 2
        let legendTop = endsHigh ? top + plotHeight - 10 - Double(series.count) * 14 : top
        parts.append("<text x=\"\(left + plotWidth / 2)\" y=\"\(Double(height) - 6)\" text-anchor=\"middle\">\(escapeHTML(xLabel))</text>")
        parts.append("<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#999\"/>")
        for (n, s) in series.enumerated() {
            let points = s.values.enumerated().filter { $0.element.isFinite }
                .map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }.joined(separator: " ")
            parts.append("<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\" points=\"\(points)\"/>")
            let legendX = left + plotWidth - 150
            let legendY = legendTop + 14 + Double(n) * 14
            parts.append("<line x1=\"\(legendX)\" x2=\"\(legendX + 18)\" y1=\"\(legendY - 4)\" y2=\"\(legendY - 4)\" stroke=\"\(s.color)\" stroke-width=\"2\"/>")
            parts.append("<text x=\"\(legendX + 24)\" y=\"\(legendY)\">\(escapeHTML(s.name))</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
