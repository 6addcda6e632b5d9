import Foundation
import Torch

/// Counts of (true class, predicted class) pairs.
public struct ConfusionMatrix: Codable, Equatable {
    public let classes: Int
    /// counts[truth][prediction]
    public let counts: [[Int]]

    /// Builds the matrix with one scatter-add over the batch, not a Swift loop per example.
    public init(predictions: Tensor, labels: Tensor, classes: Int) throws {
        guard predictions.shape == labels.shape, predictions.rank == 1 else {
            throw TorchError("predictions \(predictions.shape) and labels \(labels.shape) must be equal 1-D shapes")
        }
        let flat = try labels.to(.int64) * Double(classes) + predictions.to(.int64)
        let cells = try Tensor.zeros([classes * classes], dtype: .int64)
            .scatter(dim: 0, index: flat, source: flat.onesLike(), accumulate: true)
        let values = try cells.scalars(as: Int64.self).map(Int.init)
        self.classes = classes
        counts = (0..<classes).map { Array(values[($0 * classes)..<(($0 + 1) * classes)]) }
    }

    public var accuracy: Double {
        let total = counts.joined().reduce(0, +)
        return total == 0 ? 0 : Double((0..<classes).map { counts[$0][$0] }.reduce(0, +)) / Double(total)
    }

    /// An HTML table shaded by each cell's share of its row.
    public func html() -> String {
        var rows = ["<table class=\"confusion\"><tr><th>true \\ predicted</th>" + (0..<classes).map { "<th>\($0)</th>" }.joined() + "</tr>"]
        for truth in 0..<classes {
            let total = max(counts[truth].reduce(0, +), 1)
            let cells = (0..<classes).map { predicted -> String in
                let share = Double(counts[truth][predicted]) / Double(total)
                let color = truth == predicted ? "rgba(40,120,200,\(share))" : "rgba(220,60,40,\(min(1, share * 4)))"
                let text = share > 0.6 ? "#fff" : "#222"
                return "<td style=\"background:\(color);color:\(text)\">\(counts[truth][predicted])</td>"
            }
            rows.append("<tr><th>\(truth)</th>\(cells.joined())</tr>")
        }
        rows.append("</table>")
        return rows.joined()
    }
}
