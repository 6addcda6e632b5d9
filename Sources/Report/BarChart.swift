import Foundation

/// A horizontal SVG bar chart of signed values (relevances, weights): positive bars to the
/// right in blue, negative to the left in red, one labelled row per value.
public struct BarChart {
    public var title: String
    public var labels: [String]
    public var values: [Double]
    public var width = 360
    public var rowHeight = 18
    /// One fill per bar (CSS colours), replacing the sign colours.
    public var colors: [String]?

    public init(title: String, labels: [String], values: [Double]) {
        self.title = title
        self.labels = labels
        self.values = values
    }

    public func svg() -> String {
        let labelWidth = Double(min(180, 16 + 7 * (labels.map(\.count).max() ?? 0)))
        let top = 26.0, valueWidth = 52.0
        let plotWidth = Double(width) - labelWidth - valueWidth - 8
        let height = Int(top) + rowHeight * values.count + 8
        let finite = values.map { $0.isFinite ? $0 : 0 }
        let low = min(0, finite.min() ?? 0), high = max(0, finite.max() ?? 0)
        let span = max(high - low, 1e-12)
        func x(_ v: Double) -> Double { labelWidth + (v - low) / span * plotWidth }
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"11\">"]
        parts.append("<text x=\"4\" y=\"16\" font-size=\"13\">\(escapeHTML(title))</text>")
        for (row, value) in finite.enumerated() {
            let y = top + Double(row * rowHeight)
            let start = min(x(0), x(value)), length = abs(x(value) - x(0))
            let color = colors.flatMap { row < $0.count ? $0[row] : nil } ?? (value >= 0 ? "#1f77b4" : "#d62728")
            let label = row < labels.count ? labels[row] : ""
            parts.append("<text x=\"\(labelWidth - 6)\" y=\"\(y + 12)\" text-anchor=\"end\">\(escapeHTML(label))</text>")
            parts.append(String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%@\"/>", start, y + 2, length, rowHeight - 4, color))
            parts.append(String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>", labelWidth + plotWidth + 6, y + 12,
                                String(format: "%+.3f", values[row])))
        }
        parts.append(String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%d\" stroke=\"#555\"/>", x(0), x(0), top, height - 6))
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
