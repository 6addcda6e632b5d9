import Foundation
import Torch

extension DecisionTree {
    /// Grows a tree level by level with every open node's split search in a few large tensor
    /// operations: each column is sorted once; every level keeps, per column, the samples of the
    /// open nodes grouped by node and sorted by value (a stable partition, no re-sorting), takes
    /// cumulative class counts down the columns, and scores every (position, feature) split at once.
    ///
    /// Matches scikit-learn's `DecisionTreeClassifier` (1.3): the same candidate thresholds
    /// (midpoints of consecutive distinct float32 values, 1e-7 apart), the same proxy score in
    /// float64 (−n_right·impurity_right − n_left·impurity_left), the same stopping rules (depth,
    /// min samples per split and leaf, impurity ≤ float64 epsilon) and the same depth-first node
    /// numbering. One difference: among splits of exactly equal score, Glassbox takes the lowest
    /// feature index (then the lowest threshold), while scikit-learn takes the first in a random
    /// feature order drawn from its `random_state`; the trees then differ in which of the equally
    /// good features they name.
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
    let features: Tensor        // (N, F) float32
    let labels: Tensor          // (N) int64
    let classes: Int
    var nodes: [DecisionTree.Node] = []
    var children: [(left: Int, right: Int)?] = []

    init(data: LabelledFeatures, settings: DecisionTree.Settings) throws {
        self.settings = settings
        features = data.features
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
        let n = features.shape[0]
        let root = addNode(counts: try classCounts(of: Tensor.arange(0, Double(n))), depth: 0)
        var order = try features.sorted(dim: 0).indices     // (positions, F): sample ids, grouped by open node
        var segments = isOpen(nodes[root]) ? [Segment(node: root, start: 0, end: n)] : []
        while !segments.isEmpty {
            (order, segments) = try splitLevel(order: order, segments: segments)
        }
        return DecisionTree(nodes: depthFirst(), featureCount: features.shape[1], settings: settings)
    }

    /// Finds every open node's best split, creates the children, and lays out the open children.
    mutating func splitLevel(order: Tensor, segments: [Segment]) throws -> (Tensor, [Segment]) {
        let m = order.shape[0], width = order.shape[1]
        var segmentStart = [Int64](repeating: 0, count: m), segmentEnd = [Int64](repeating: 0, count: m)
        var segmentTotal = [[Double]](repeating: [], count: classes)
        for c in 0..<classes { segmentTotal[c] = [Double](repeating: 0, count: m) }
        var leftCount = [Double](repeating: 0, count: m), rightCount = [Double](repeating: 0, count: m)
        for segment in segments {
            let size = segment.end - segment.start
            for p in segment.start..<segment.end {
                segmentStart[p] = Int64(segment.start); segmentEnd[p] = Int64(segment.end)
                leftCount[p] = Double(p - segment.start + 1); rightCount[p] = Double(size - (p - segment.start + 1))
                for c in 0..<classes { segmentTotal[c][p] = nodes[segment.node].classCounts[c] }
            }
        }
        let startIndex = try Tensor(segmentStart)
        let nLeft = try Tensor(leftCount, shape: [m, 1]), nRight = try Tensor(rightCount, shape: [m, 1])
        let flatOrder = try order.flattened()
        let sortedLabels = try labels.indexSelect(dim: 0, index: flatOrder).reshaped([m, width])
        let values = try features.gather(dim: 0, index: order)

        // Scores of "split after position p of column f" for every (p, f).
        var leftImpurity = try Tensor.zeros([m, width], dtype: .float64)
        var rightImpurity = try Tensor.zeros([m, width], dtype: .float64)
        for c in 0..<classes {
            let running = try sortedLabels.eq(Double(c)).to(.float64).cumsum(dim: 0)
            let padded = try Tensor.cat([Tensor.zeros([1, width], dtype: .float64), running])
            let left = try running - padded.indexSelect(dim: 0, index: startIndex)
            let right = try Tensor(segmentTotal[c], shape: [m, 1]) - left
            switch settings.criterion {
            case .gini:
                leftImpurity = try leftImpurity + left * left
                rightImpurity = try rightImpurity + right * right
            case .entropy:
                leftImpurity = try leftImpurity - plogp(left / nLeft)
                rightImpurity = try rightImpurity - plogp(right / nRight)
            }
        }
        if settings.criterion == .gini {
            leftImpurity = try 1 - leftImpurity / (nLeft * nLeft)
            rightImpurity = try 1 - rightImpurity / (nRight * nRight)
        }
        let score = try (nRight * rightImpurity + nLeft * leftImpurity) * -1
        // A split after p needs p + 1 in the same node, a distinct next value, and big enough children.
        let next = try Tensor.cat([values.slice(dim: 0, start: 1, end: m), values.slice(dim: 0, start: m - 1, end: m)])
        let positions = try Tensor.arange(0, Double(m)).unsqueezed(dim: 1)
        let minimumLeaf = Double(settings.minSamplesLeaf)
        var valid = try next.gt(values + 1e-7)
        valid = try valid.logicalAnd(positions.lt(Tensor(segmentEnd, shape: [m, 1]) - 1))
        valid = try valid.logicalAnd(nLeft.ge(minimumLeaf)).logicalAnd(nRight.ge(minimumLeaf))
        let scored = try score.maskedFill(valid.logicalNot(), with: -.infinity)

        var goesLeft: [Tensor] = []
        var layout: [(segment: Segment, leftSize: Int, left: Int, right: Int)] = []
        for segment in segments {
            let size = segment.end - segment.start
            // Transposed, so ties go to the lowest feature, then the lowest position.
            let block = try scored.slice(dim: 0, start: segment.start, end: segment.end).t().contiguous().flattened()
            let best = try block.argmax().itemInt()
            guard try block[best].item() > -.infinity else { continue }
            let feature = best / size, position = segment.start + best % size
            let low = try features[order[position][feature].itemInt()][feature].item()
            let high = try features[order[position + 1][feature].itemInt()][feature].item()
            var threshold = low / 2 + high / 2
            if threshold == high || !threshold.isFinite { threshold = low }
            let leftSamples = try order.slice(dim: 0, start: segment.start, end: position + 1).select(dim: 1, index: feature).contiguous()
            let rightSamples = try order.slice(dim: 0, start: position + 1, end: segment.end).select(dim: 1, index: feature).contiguous()
            let depth = nodes[segment.node].depth + 1
            let left = addNode(counts: try classCounts(of: leftSamples), depth: depth)
            let right = addNode(counts: try classCounts(of: rightSamples), depth: depth)
            nodes[segment.node].feature = feature
            nodes[segment.node].threshold = threshold
            children[segment.node] = (left, right)
            goesLeft.append(leftSamples)
            layout.append((segment, position + 1 - segment.start, left, right))
        }
        return try partition(order: order, goesLeft: goesLeft, layout: layout)
    }

    /// The next level's layout: each split node's positions, per column, stably partitioned into
    /// its left then right child, keeping only children that are still open.
    func partition(order: Tensor, goesLeft: [Tensor], layout: [(segment: Segment, leftSize: Int, left: Int, right: Int)]) throws -> (Tensor, [Segment]) {
        let m = order.shape[0], width = order.shape[1]
        var nextSegments: [Segment] = []
        var leftTarget = [Int64](repeating: -1, count: m), rightTarget = [Int64](repeating: -1, count: m)
        var start = [Int64](repeating: 0, count: m)
        var cursor = 0
        for entry in layout {
            var leftStart: Int64 = -1, rightStart: Int64 = -1
            if isOpen(nodes[entry.left]) {
                leftStart = Int64(cursor)
                nextSegments.append(Segment(node: entry.left, start: cursor, end: cursor + entry.leftSize)); cursor += entry.leftSize
            }
            let rightSize = entry.segment.end - entry.segment.start - entry.leftSize
            if isOpen(nodes[entry.right]) {
                rightStart = Int64(cursor)
                nextSegments.append(Segment(node: entry.right, start: cursor, end: cursor + rightSize)); cursor += rightSize
            }
            for p in entry.segment.start..<entry.segment.end {
                leftTarget[p] = leftStart; rightTarget[p] = rightStart; start[p] = Int64(entry.segment.start)
            }
        }
        guard cursor > 0 else { return (order, []) }
        var side = try Tensor.zeros([features.shape[0]], dtype: .int64)
        side = try side.scatter(dim: 0, index: Tensor.cat(goesLeft), source: Tensor.ones([goesLeft.map(\.count).reduce(0, +)], dtype: .int64))
        let isLeft = try side.indexSelect(dim: 0, index: order.flattened()).reshaped([m, width])
        let leftBefore = try isLeft.cumsum(dim: 0) - isLeft
        let padded = try Tensor.cat([Tensor.zeros([1, width], dtype: .int64), isLeft.cumsum(dim: 0)])
        let startIndex = try Tensor(start)
        let leftRank = try leftBefore - padded.indexSelect(dim: 0, index: startIndex)
        let offset = try Tensor.arange(0, Double(m)).unsqueezed(dim: 1) - startIndex.unsqueezed(dim: 1)
        let rightRank = try offset - leftRank
        let leftBase = try Tensor(leftTarget, shape: [m, 1]), rightBase = try Tensor(rightTarget, shape: [m, 1])
        let base = try Tensor.where(isLeft.eq(1), leftBase.expanded(to: [m, width]), rightBase.expanded(to: [m, width]))
        let rank = try Tensor.where(isLeft.eq(1), leftRank, rightRank)
        // Positions of closed children (base −1) go to a discarded last row.
        let target = try Tensor.where(base.ge(0), base + rank, Tensor.full([m, width], value: Double(cursor), dtype: .int64))
        let next = try Tensor.zeros([cursor + 1, width], dtype: .int64).scatter(dim: 0, index: target, source: order)
        return (try next.slice(dim: 0, start: 0, end: cursor), nextSegments)
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

/// p·log₂(p) with 0·log 0 = 0.
private func plogp(_ p: Tensor) throws -> Tensor {
    try Tensor.where(p.gt(0), p * (p.clamp(min: 1e-300).log() / Foundation.log(2.0)), p.zerosLike())
}
