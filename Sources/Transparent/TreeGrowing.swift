import Foundation
import Torch

extension DecisionTree {
    /// Grows a tree level by level. Each feature column is sorted once; every level keeps, per
    /// column, the open nodes' samples grouped by node and sorted by value, finds every open
    /// node's best split in every column in one scan (a C++ kernel over the whole level,
    /// parallel over columns), and stably partitions the columns into the children (another).
    ///
    /// Matches scikit-learn's `DecisionTreeClassifier` (1.3): the same candidate thresholds
    /// (midpoints of consecutive distinct float32 values, 1e-7 apart), the same proxy score in
    /// float64 (−n_right·impurity_right − n_left·impurity_left, classes summed in order), the same
    /// stopping rules (depth, min samples per split and leaf, impurity ≤ float64 epsilon) and the
    /// same depth-first node numbering. One difference: among splits of exactly equal score,
    /// Glassbox takes the lowest feature index (then the lowest threshold), while scikit-learn takes
    /// the first in a random feature order drawn from its `random_state`; the trees then differ in
    /// which of the equally good features they name, and below it.
    public static func fit(_ data: LabelledFeatures, settings: Settings = Settings()) throws -> DecisionTree {
        try settings.validate()
        var grower = try TreeGrower(data: data, settings: settings)
        return try grower.grow()
    }
}

/// The state of one growth: nodes so far (breadth-first) and the sorted sample layout of the open ones.
private struct TreeGrower {
    struct Segment { let node: Int; let start: Int; let end: Int }

    let settings: DecisionTree.Settings
    let columns: Tensor         // (F, N) float32: features transposed, one column per row
    let labels: Tensor          // (N) int64
    let classes: Int
    var nodes: [DecisionTree.Node] = []
    var children: [(left: Int, right: Int)?] = []

    init(data: LabelledFeatures, settings: DecisionTree.Settings) throws {
        self.settings = settings
        columns = try data.features.t().contiguous()
        labels = data.labels
        classes = data.classes
    }

    func isOpen(_ node: DecisionTree.Node) -> Bool {
        let n = node.sampleCount
        if let maxDepth = settings.maxDepth, node.depth >= maxDepth { return false }
        return n >= settings.minSamplesSplit && n >= 2 * settings.minSamplesLeaf && node.impurity > Double.ulpOfOne
    }

    mutating func addNode(counts: [Double], depth: Int) -> Int {
        nodes.append(DecisionTree.Node(feature: nil, threshold: -2, left: nil, right: nil, classCounts: counts,
                                       impurity: settings.criterion.impurity(counts), depth: depth))
        children.append(nil)
        return nodes.count - 1
    }

    func classCounts(of samples: Tensor) throws -> [Double] {
        try labels.indexSelect(dim: 0, index: samples).oneHot(classes: classes).sum(dims: [0]).to(.float64).scalars(as: Double.self)
    }

    mutating func grow() throws -> DecisionTree {
        let n = columns.shape[1]
        let root = addNode(counts: try classCounts(of: Tensor.arange(0, Double(n))), depth: 0)
        var order = try columns.sorted(dim: 1).indices     // (F, positions): sample ids, grouped by open node
        var segments = isOpen(nodes[root]) ? [Segment(node: root, start: 0, end: n)] : []
        while !segments.isEmpty {
            (order, segments) = try splitLevel(order: order, segments: segments)
        }
        return DecisionTree(nodes: depthFirst(), featureCount: columns.shape[0], settings: settings)
    }

    /// Finds every open node's best split, creates the children, and lays out the open children.
    mutating func splitLevel(order: Tensor, segments: [Segment]) throws -> (Tensor, [Segment]) {
        let bounds = try Tensor(segments.flatMap { [Int64($0.start), Int64($0.end)] }, shape: [segments.count, 2])
        let totals = try Tensor(segments.flatMap { nodes[$0.node].classCounts }, shape: [segments.count, classes])
        let found = try TreeKernels.bestSplits(order: order, features: columns, labels: labels, segments: bounds, classTotals: totals,
                                               entropy: settings.criterion == .entropy, minSamplesLeaf: settings.minSamplesLeaf)
        // argmax takes the first maximum: ties go to the lowest feature (the kernel keeps the lowest position).
        let best = try found.scores.argmax(dim: 1)
        let bestScores = try found.scores.gather(dim: 1, index: best.unsqueezed(dim: 1)).squeezed(dim: 1).scalars(as: Double.self)
        let bestPositions = try found.positions.gather(dim: 1, index: best.unsqueezed(dim: 1)).squeezed(dim: 1).scalars(as: Int64.self)
        let bestFeatures = try best.scalars(as: Int64.self)

        var leftSamples: [Tensor] = []
        var next: [(segment: Segment, leftSize: Int, left: Int, right: Int)] = []
        for (index, segment) in segments.enumerated() where bestScores[index] > -.infinity {
            let feature = Int(bestFeatures[index]), position = Int(bestPositions[index])
            let column = try order[feature]
            let low = try columns[feature][column[position].itemInt()].item()
            let high = try columns[feature][column[position + 1].itemInt()].item()
            var threshold = low / 2 + high / 2
            if threshold == high || !threshold.isFinite { threshold = low }
            let left = try column.slice(dim: 0, start: segment.start, end: position + 1)
            let right = try column.slice(dim: 0, start: position + 1, end: segment.end)
            let depth = nodes[segment.node].depth + 1
            let leftNode = addNode(counts: try classCounts(of: left), depth: depth)
            let rightNode = addNode(counts: try classCounts(of: right), depth: depth)
            nodes[segment.node].feature = feature
            nodes[segment.node].threshold = threshold
            children[segment.node] = (leftNode, rightNode)
            leftSamples.append(left)
            next.append((segment, position + 1 - segment.start, leftNode, rightNode))
        }
        return try partition(order: order, leftSamples: leftSamples, splits: next)
    }

    /// The next level's layout: each split node's positions, per column, stably partitioned into
    /// its left then right child, keeping only children that are still open.
    func partition(order: Tensor, leftSamples: [Tensor], splits: [(segment: Segment, leftSize: Int, left: Int, right: Int)]) throws -> (Tensor, [Segment]) {
        var nextSegments: [Segment] = [], targets: [Int64] = []
        var cursor = 0
        for split in splits {
            let rightSize = split.segment.end - split.segment.start - split.leftSize
            for (child, size) in [(split.left, split.leftSize), (split.right, rightSize)] {
                if isOpen(nodes[child]) {
                    targets.append(Int64(cursor))
                    nextSegments.append(Segment(node: child, start: cursor, end: cursor + size))
                    cursor += size
                } else {
                    targets.append(-1)
                }
            }
        }
        guard cursor > 0 else { return (order, []) }
        let samples = try Tensor.cat(leftSamples)
        let goesLeft = try Tensor.zeros([columns.shape[1]], dtype: .bool)
            .scatter(dim: 0, index: samples, source: Tensor.ones([samples.count], dtype: .bool))
        let bounds = try Tensor(splits.flatMap { [Int64($0.segment.start), Int64($0.segment.end)] }, shape: [splits.count, 2])
        let nextOrder = try TreeKernels.partition(order: order, goesLeft: goesLeft, segments: bounds,
                                                  targets: Tensor(targets, shape: [splits.count, 2]), nextPositions: cursor)
        return (nextOrder, nextSegments)
    }

    /// Renumbers the breadth-first nodes depth-first, left before right (scikit-learn's order).
    func depthFirst() -> [DecisionTree.Node] {
        var order: [Int] = [], stack = [0]
        while let index = stack.popLast() {
            order.append(index)
            if let pair = children[index] { stack.append(pair.right); stack.append(pair.left) }
        }
        var renumbered = [Int](repeating: 0, count: nodes.count)
        for (newIndex, old) in order.enumerated() { renumbered[old] = newIndex }
        return order.map { old in
            var node = nodes[old]
            if let pair = children[old] { node.left = renumbered[pair.left]; node.right = renumbered[pair.right] }
            return node
        }
    }
}

