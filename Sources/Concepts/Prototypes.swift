import Torch

/// Examples that show what a concept means: the inputs that activate it most, and (as the
/// dictionary-learning literature recommends, Bricken et al. 2023) inputs sampled across its
/// range of activation, so a reader also sees weak and negative activations.
public enum ConceptPrototypes {
    /// For each concept, the indices of the `count` examples with the highest activation.
    /// `activations` is (N, concepts).
    public static func strongest(_ activations: Tensor, count: Int) throws -> [[Int]] {
        guard activations.rank == 2, (1...activations.shape[0]).contains(count) else {
            throw TorchError("prototypes need (N, concepts) activations and 1…N examples per concept")
        }
        let top = try activations.topk(count, dim: 0).indices.t().contiguous()
        return try (0..<activations.shape[1]).map { try top[$0].scalars(as: Int64.self).map { Int($0) } }
    }

    /// For each concept, `count` examples at evenly spaced ranks of its activation, from the
    /// lowest to the highest.
    public static func acrossLevels(_ activations: Tensor, count: Int) throws -> [[Int]] {
        guard activations.rank == 2, count >= 2, count <= activations.shape[0] else {
            throw TorchError("prototypes across levels need (N, concepts) activations and 2…N examples per concept")
        }
        let n = activations.shape[0]
        let order = try activations.sorted(dim: 0).indices.t().contiguous()
        let ranks = (0..<count).map { $0 * (n - 1) / (count - 1) }
        return try (0..<activations.shape[1]).map { concept in
            let sorted = try order[concept].scalars(as: Int64.self)
            return ranks.map { Int(sorted[$0]) }
        }
    }
}
