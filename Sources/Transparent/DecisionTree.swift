import Foundation
import Torch

/// A CART classification tree (Breiman et al. 1984): axis-aligned splits x[f] ≤ t chosen greedily
/// to minimise the children's weighted Gini impurity or entropy, as scikit-learn's
/// `DecisionTreeClassifier` grows it (see `fit`).
public struct DecisionTree: Codable, Sendable {
    public enum Criterion: String, CaseIterable, Codable, Sendable { case gini, entropy }

    public struct Settings: Codable, Sendable {
        public var criterion: Criterion
        /// nil grows until every leaf is pure or too small to split.
        public var maxDepth: Int?
        public var minSamplesSplit: Int
        public var minSamplesLeaf: Int

        public init(criterion: Criterion = .gini, maxDepth: Int? = nil, minSamplesSplit: Int = 2, minSamplesLeaf: Int = 1) {
            self.criterion = criterion
            self.maxDepth = maxDepth
            self.minSamplesSplit = minSamplesSplit
            self.minSamplesLeaf = minSamplesLeaf
        }

        public func validate() throws {
            if let maxDepth, maxDepth < 0 { throw TorchError("the maximum depth must be at least 0, got \(maxDepth)") }
            guard minSamplesSplit >= 2 else { throw TorchError("a split needs at least 2 samples (min samples per split), got \(minSamplesSplit)") }
            guard minSamplesLeaf >= 1 else { throw TorchError("a leaf needs at least 1 sample, got \(minSamplesLeaf)") }
        }
    }

    public struct Node: Codable, Sendable, Equatable {
        /// The split feature, or nil for a leaf.
        public var feature: Int?
        /// Samples with x[feature] ≤ threshold go left.
        public var threshold: Double
        public var left: Int?
        public var right: Int?
        /// Training samples per class that reached this node.
        public var classCounts: [Double]
        public var impurity: Double
        public var depth: Int

        public var isLeaf: Bool { feature == nil }
        public var sampleCount: Int { Int(classCounts.reduce(0, +)) }
        /// The majority class (the lowest on ties).
        public var prediction: Int { classCounts.indices.max { classCounts[$0] < classCounts[$1] || (classCounts[$0] == classCounts[$1] && $0 > $1) }! }
    }

    /// In depth-first order, left before right; the root is node 0.
    public let nodes: [Node]
    public let featureCount: Int
    public let settings: Settings

    public var classes: Int { nodes[0].classCounts.count }
    public var depth: Int { nodes.map(\.depth).max() ?? 0 }
    public var leafCount: Int { nodes.filter(\.isLeaf).count }

    init(nodes: [Node], featureCount: Int, settings: Settings) {
        self.nodes = nodes
        self.featureCount = featureCount
        self.settings = settings
    }

    /// Leaf index for every row of `features` (N, F): all rows descend one level per step together.
    public func leaves(_ features: Tensor) throws -> Tensor {
        let x = try checkedFeatures(features, count: featureCount)
        let feature = try Tensor(nodes.map { Int64($0.feature ?? 0) })
        let threshold = try Tensor(nodes.map(\.threshold))
        let left = try Tensor(nodes.enumerated().map { Int64($0.element.left ?? $0.offset) })
        let right = try Tensor(nodes.enumerated().map { Int64($0.element.right ?? $0.offset) })
        var node = try Tensor.zeros([x.shape[0]], dtype: .int64)
        for _ in 0..<depth {
            let value = try x.gather(dim: 1, index: feature.indexSelect(dim: 0, index: node).unsqueezed(dim: 1)).squeezed(dim: 1)
            let goesLeft = try value.to(.float64).le(threshold.indexSelect(dim: 0, index: node))
            node = try Tensor.where(goesLeft, left.indexSelect(dim: 0, index: node), right.indexSelect(dim: 0, index: node))
        }
        return node
    }

    public func predict(_ features: Tensor) throws -> Tensor {
        try Tensor(nodes.map { Int64($0.prediction) }).indexSelect(dim: 0, index: leaves(features))
    }

    /// Class frequencies of each row's leaf, (N, classes).
    public func probabilities(_ features: Tensor) throws -> Tensor {
        let counts = try Tensor(nodes.flatMap(\.classCounts), shape: [nodes.count, classes])
        return try (counts / counts.sum(dims: [1], keepDims: true)).indexSelect(dim: 0, index: leaves(features))
    }

    /// The tree as nested if/else rules, one line per node.
    public func rules(featureNames: [String]? = nil, classNames: [String]? = nil) -> String {
        var lines: [String] = []
        func name(_ f: Int) -> String { featureNames.flatMap { f < $0.count ? $0[f] : nil } ?? "x[\(f)]" }
        func label(_ c: Int) -> String { classNames.flatMap { c < $0.count ? $0[c] : nil } ?? "class \(c)" }
        func visit(_ index: Int, _ indent: String) {
            let node = nodes[index]
            if let feature = node.feature, let left = node.left, let right = node.right {
                lines.append("\(indent)if \(name(feature)) <= \(String(format: "%.6g", node.threshold)):")
                visit(left, indent + "    ")
                lines.append("\(indent)else:  # \(name(feature)) > \(String(format: "%.6g", node.threshold))")
                visit(right, indent + "    ")
            } else {
                let counts = node.classCounts.map { String(Int($0)) }.joined(separator: "/")
                lines.append("\(indent)predict \(label(node.prediction))  (\(node.sampleCount) samples: \(counts))")
            }
        }
        visit(0, "")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension DecisionTree.Criterion {
    /// Node impurity from class counts, as scikit-learn computes it (entropy in bits).
    func impurity(_ counts: [Double]) -> Double {
        let total = counts.reduce(0, +)
        switch self {
        case .gini:
            return 1 - counts.reduce(0) { $0 + $1 * $1 } / (total * total)
        case .entropy:
            return counts.reduce(0) { sum, count in count > 0 ? sum - (count / total) * Foundation.log(count / total) / Foundation.log(2.0) : sum }
        }
    }
}
