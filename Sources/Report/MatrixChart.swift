import Foundation

/// A matrix of signed values as an SVG grid of cells, blue (negative) – white – red (positive) on
/// a symmetric scale (WᵀW of a toy model, a bias column beside it).
public struct MatrixChart {
    public var title: String
    public var rows: [[Double]]
    /// Values at ±scale get the full colour (default: the largest |value|).
    public var scale: Double?
    public var cell = 9

    public init(title: String, rows: [[Double]], scale: Double? = nil) {
        (self.title, self.rows, self.scale) = (title, rows, scale)
    }

    public func svg() -> String {
        let columns = rows.map(\.count).max() ?? 0
        let bound = Swift.max(scale ?? rows.joined().map { abs($0) }.filter(\.isFinite).max() ?? 1, 1e-12)
        let top = 18, width = Swift.max(columns * cell + 2, 7 * title.count), height = top + rows.count * cell + 2
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"11\">",
                     "<text x=\"1\" y=\"12\">\(escapeHTML(title))</text>"]
        for (r, row) in rows.enumerated() {
            for (c, value) in row.enumerated() {
                let v = Swift.min(Swift.max((value.isFinite ? value : 0) / bound, -1), 1)
                let red = v < 0 ? 1 + v : 1, green = 1 - abs(v), blue = v > 0 ? 1 - v : 1
                parts.append(String(format: "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"><title>%.3f</title></rect>",
                                    1 + c * cell, top + r * cell, cell, cell, Int(red * 255), Int(green * 255), Int(blue * 255), value))
            }
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
