import Torch

/// k-nearest-neighbour classification (Cover & Hart 1967): explanation by example, since every
/// prediction points at the training samples it came from. Brute force on tensors: distances
/// for a block of queries are one matrix product, neighbours one top-k.
///
/// Matches scikit-learn's `KNeighborsClassifier(algorithm="brute")`: Euclidean distance, or
/// cosine distance 1 − cos; neighbours nearest first; the prediction is the most frequent label
/// among the k, the lowest label on ties. Exactly equidistant neighbours may be ordered
/// differently (both sides sort floating-point distances computed in different orders).
public struct NearestNeighbors {
    public enum Metric: String, CaseIterable, Codable, Sendable { case euclidean, cosine }

    /// The stored training set (N, F) float32 and its labels.
    public let data: LabelledFeatures
    public let metric: Metric
    /// The training rows as the distance computation uses them: −2·x for Euclidean (so a block's
    /// ranking score ‖x‖² − 2q·x is one product and one sum), unit rows for cosine.
    private let reference: Tensor
    private let squaredNorms: Tensor

    public init(_ data: LabelledFeatures, metric: Metric = .euclidean) throws {
        self.data = data
        self.metric = metric
        switch metric {
        case .euclidean:
            reference = try data.features * -2
            squaredNorms = try (data.features * data.features).sum(dims: [1])
        case .cosine:
            reference = try data.features / data.features.norm(dims: [1], keepDims: true).clamp(min: 1e-12)
            squaredNorms = try Tensor.ones([data.count])
        }
    }

    /// Distances (Q, k) and training indices (Q, k) of each query's k nearest neighbours, nearest first.
    public func neighbors(of queries: Tensor, k: Int, blockSize: Int = 1024) throws -> (distances: Tensor, indices: Tensor) {
        guard k >= 1, k <= data.count else { throw TorchError("k must be in 1...\(data.count) (the training samples), got \(k)") }
        let x = try checkedFeatures(queries, count: data.featureCount)
        var distances: [Tensor] = [], indices: [Tensor] = []
        for start in stride(from: 0, to: x.shape[0], by: blockSize) {
            let block = try x.slice(dim: 0, start: start, end: Swift.min(start + blockSize, x.shape[0]))
            switch metric {
            case .euclidean:
                // Smallest first: ‖x‖² − 2q·x ranks like ‖q − x‖² (‖q‖² is the same for the row). The k
                // winners' distances come from differences (the expansion cancels badly near zero).
                let nearest = try (block.matmul(reference.t()) + squaredNorms).topk(k, dim: 1, largest: false)
                let chosen = try data.features.indexSelect(dim: 0, index: nearest.indices.flattened()).reshaped([block.shape[0], k, data.featureCount])
                distances.append(try (chosen - block.unsqueezed(dim: 1)).norm(dims: [2]))
                indices.append(nearest.indices)
            case .cosine:
                // Largest cosine first; the distance 1 − cos only for the k winners.
                let unit = try block / block.norm(dims: [1], keepDims: true).clamp(min: 1e-12)
                let nearest = try unit.matmul(reference.t()).topk(k, dim: 1, largest: true)
                distances.append(try 1 - nearest.values)
                indices.append(nearest.indices)
            }
        }
        return (try Tensor.cat(distances), try Tensor.cat(indices))
    }

    /// Majority label of the k nearest neighbours (lowest label on ties).
    public func predict(_ queries: Tensor, k: Int) throws -> Tensor {
        try vote(neighbors(of: queries, k: k).indices)
    }

    /// Majority label among the given neighbour indices (Q, k).
    public func vote(_ neighbors: Tensor) throws -> Tensor {
        let labels = try data.labels.indexSelect(dim: 0, index: neighbors.flattened()).reshaped(neighbors.shape)
        // argmax takes the first maximum, so ties go to the lowest label.
        return try labels.oneHot(classes: data.classes).sum(dims: [1]).argmax(dim: 1)
    }
}
