import CTorch

/// The C++ kernels of CART growth (Sources/CTorch/tree_split.cpp), for the Transparent module.
package enum TreeKernels {
    /// Best split per (node, feature): scores (nodes, features) float64, −inf where none, and the last left position.
    package static func bestSplits(order: Tensor, features: Tensor, labels: Tensor, segments: Tensor, classTotals: Tensor,
                                   entropy: Bool, minSamplesLeaf: Int) throws -> (scores: Tensor, positions: Tensor) {
        var scores: gbt_tensor?, positions: gbt_tensor?
        try withExtendedLifetime((order, features, labels, segments, classTotals)) {
            try check(gbt_tree_best_splits(order.handle, features.handle, labels.handle, segments.handle, classTotals.handle,
                                           entropy ? 1 : 0, Int64(minSamplesLeaf), &scores, &positions), "tree split search")
        }
        return (Tensor(handle: scores!), Tensor(handle: positions!))
    }

    /// Each column's segments stably partitioned into left then right samples at the given targets.
    package static func partition(order: Tensor, goesLeft: Tensor, segments: Tensor, targets: Tensor, nextPositions: Int) throws -> Tensor {
        try withExtendedLifetime((order, goesLeft, segments, targets)) {
            try makeTensor("tree partition") {
                gbt_tree_partition(order.handle, goesLeft.handle, segments.handle, targets.handle, Int64(nextPositions), &$0)
            }
        }
    }
}
