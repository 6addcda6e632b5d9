import Foundation

/// A decision tree drawn as SVG: each split shows its feature and threshold, each leaf its
/// class histogram and sample count. Subtrees deeper than `maxDepth` fold into one box.
public struct TreeDiagram {
    public var tree: DecisionTree
    public var featureNames: [String]?
    public var classNames: [String]?
    public var maxDepth: Int

    public init(_ tree: DecisionTree, featureNames: [String]? = nil, classNames: [String]? = nil, maxDepth: Int = 4) {
        self.tree = tree
        self.featureNames = featureNames
        self.classNames = classNames
        self.maxDepth = maxDepth
    }

    static let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public func svg() -> String {
        let boxWidth = 118.0, boxHeight = 46.0, gap = 10.0, levelHeight = 78.0
        var positions: [Int: (x: Double, depth: Int)] = [:]
        var nextLeafX = 0.0
        /// Leaves (and folded subtrees) left to right; a split sits above the middle of its children.
        func place(_ index: Int, _ depth: Int) -> Double {
            let node = tree.nodes[index]
            if let left = node.left, let right = node.right, depth < maxDepth {
                let x = (place(left, depth + 1) + place(right, depth + 1)) / 2
                positions[index] = (x, depth)
                return x
            }
            let x = nextLeafX
            nextLeafX += boxWidth + gap
            positions[index] = (x, depth)
            return x
        }
        _ = place(0, 0)
        let width = max(nextLeafX, boxWidth + gap) + 20
        let height = Double((positions.values.map(\.depth).max() ?? 0) + 1) * levelHeight + 20
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"system-ui, sans-serif\" font-size=\"11\">"]
        func name(_ f: Int) -> String { featureNames.flatMap { f < $0.count ? $0[f] : nil } ?? "x[\(f)]" }
        func label(_ c: Int) -> String { classNames.flatMap { c < $0.count ? $0[c] : nil } ?? "\(c)" }
        for (index, place) in positions.sorted(by: { $0.key < $1.key }) {
            let node = tree.nodes[index]
            let x = place.x + 10, y = Double(place.depth) * levelHeight + 10
            if let left = node.left, let right = node.right, let l = positions[left], let r = positions[right] {
                for child in [l, r] {
                    parts.append("<line x1=\"\(x + boxWidth / 2)\" y1=\"\(y + boxHeight)\" x2=\"\(child.x + 10 + boxWidth / 2)\" y2=\"\(Double(child.depth) * levelHeight + 10)\" stroke=\"#999\"/>")
                }
                parts.append("<rect x=\"\(x)\" y=\"\(y)\" width=\"\(boxWidth)\" height=\"\(boxHeight)\" rx=\"4\" fill=\"#f4f4f4\" stroke=\"#888\"/>")
                parts.append("<text x=\"\(x + 6)\" y=\"\(y + 16)\">\(escape(name(node.feature!))) ≤ \(String(format: "%.3g", node.threshold))</text>")
                parts.append("<text x=\"\(x + 6)\" y=\"\(y + 32)\" fill=\"#555\">\(node.sampleCount) samples</text>")
            } else {
                // Leaf or folded subtree: class histogram.
                let folded = !node.isLeaf
                parts.append("<rect x=\"\(x)\" y=\"\(y)\" width=\"\(boxWidth)\" height=\"\(boxHeight)\" rx=\"4\" fill=\"white\" stroke=\"\(folded ? "#bbb" : "#444")\"\(folded ? " stroke-dasharray=\"3,2\"" : "")/>")
                let total = max(node.classCounts.reduce(0, +), 1), barWidth = (boxWidth - 12) / Double(node.classCounts.count)
                for (c, count) in node.classCounts.enumerated() {
                    let h = 20 * count / total
                    parts.append("<rect x=\"\(x + 6 + Double(c) * barWidth)\" y=\"\(y + 26 - h)\" width=\"\(max(barWidth - 1, 1))\" height=\"\(h)\" fill=\"\(Self.colors[c % Self.colors.count])\"><title>\(escape(label(c))): \(Int(count))</title></rect>")
                }
                let text = folded ? "subtree, \(node.sampleCount) samples" : "\(escape(label(node.prediction))), \(node.sampleCount) samples"
                parts.append("<text x=\"\(x + 6)\" y=\"\(y + 40)\">\(text)</text>")
            }
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
