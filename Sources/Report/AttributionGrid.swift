import Foundation
import Torch

/// A side-by-side grid of attribution maps: rows are inputs, columns are methods.
public struct AttributionGrid {
    public struct Column {
        public let title: String
        /// (N, C, H, W) or (N, H, W) maps, one per input row.
        public let values: Tensor
        public let sign: Heatmap.Sign

        public init(title: String, values: Tensor, sign: Heatmap.Sign) {
            self.title = title
            self.values = values
            self.sign = sign
        }
    }

    public let images: Tensor
    public let rowLabels: [String]
    public var columns: [Column] = []

    /// `images` (N, C, H, W) in [0, 1], one row label per image.
    public init(images: Tensor, rowLabels: [String]) {
        self.images = images
        self.rowLabels = rowLabels
    }

    /// Writes one PNG per cell under `folder/imageFolder` and returns the HTML table.
    public func write(to folder: String, imageFolder: String, cellSize: Int = 84) throws -> String {
        var html = ["<div style=\"overflow-x: auto\"><table class=\"grid\"><tr><th></th><th>input</th>"]
        html += columns.map { "<th>\(escapeHTML($0.title))</th>" }
        html.append("</tr>")
        for row in 0..<rowLabels.count {
            let input = try images[row]
            let inputName = "\(imageFolder)/input-\(row).png"
            try PNG.write(Image(tensor: input), to: "\(folder)/\(inputName)")
            html.append("<tr><th>\(escapeHTML(rowLabels[row]))</th><td><img src=\"\(inputName)\" width=\"\(cellSize)\"></td>")
            for (index, column) in columns.enumerated() {
                let name = "\(imageFolder)/cell-\(row)-\(index).png"
                try PNG.write(Heatmap.render(column.values[row], image: input, style: .blendedHeatMap, sign: column.sign), to: "\(folder)/\(name)")
                html.append("<td><img src=\"\(name)\" width=\"\(cellSize)\"></td>")
            }
            html.append("</tr>")
        }
        html.append("</table></div>")
        return html.joined()
    }
}
