import CTorch

extension Tensor {
    /// Synthetic sparse features (instances, batch, features): feature f of instance i is present
    /// with probability `probability[i, f]` and then uniform on [0, 1), else 0 (Elhage et al. 2022's
    /// toy data). Draw `draw` of stream `seed`: the same numbers on any thread count.
    /// `firstInstance`: the rows are instances firstInstance… of the stream, so a slice of the
    /// instances draws what it draws in the whole.
    public static func sparseFeatures(probability: Tensor, batchSize: Int, seed: UInt64, draw: UInt64, firstInstance: Int = 0) throws -> Tensor {
        try withExtendedLifetime(probability) {
            try makeTensor("sparse features of \(shapeText(probability.shape)) probabilities, batch \(batchSize)") {
                gbt_sparse_features(probability.handle, Int64(batchSize), seed, draw, Int64(firstInstance), &$0)
            }
        }
    }
}
