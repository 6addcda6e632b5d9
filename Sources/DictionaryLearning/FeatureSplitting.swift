import Foundation
import Torch

/// Feature splitting (Bricken et al. 2023, "Towards Monosemanticity", §Feature Splitting): the
/// same activations learned by dictionaries of growing size. A feature of a small dictionary
/// comes back in a larger one as a family of features whose decoder directions lie close to it,
/// each taking part of what it responded to.
///
/// Each feature of the larger dictionary hangs under its nearest feature of the next smaller one
/// (largest decoder cosine), when that cosine reaches `threshold`; below it, the feature is new
/// at that size. Whether a family covers its parent is checked on activations: the correlation
/// between the parent's activation and the sum of its children's on the same inputs.
public struct FeatureSplitting: Codable, Sendable {
    public struct Child: Codable, Sendable {
        public var feature: Int
        public var cosine: Double
    }

    /// One dictionary, against the next smaller one.
    public struct Level: Codable, Sendable {
        public var features: Int
        /// Per feature of the smaller dictionary, its children here, most similar first.
        public var children: [[Child]]
        /// Per feature here, the decoder cosine with its nearest feature of the smaller dictionary.
        public var parentCosine: [Double]
        /// Per feature of the smaller dictionary with children, the Pearson correlation of its
        /// activation with the sum of theirs (nil: no children, or an activation that never varies).
        public var familyCorrelation: [Double?]

        /// Share of the smaller dictionary's features with at least one child here.
        public var keptShare: Double { share { $0 >= 1 } }
        /// Share with two children or more.
        public var splitShare: Double { share { $0 >= 2 } }
        /// Mean number of children of the features that have any.
        public var meanChildren: Double {
            let counts = children.map(\.count).filter { $0 > 0 }
            return Double(counts.reduce(0, +)) / Double(Swift.max(counts.count, 1))
        }
        public var medianFamilyCorrelation: Double { FeatureMatching.median(familyCorrelation.compactMap { $0 }) }
        public var medianParentCosine: Double { FeatureMatching.median(parentCosine) }
        /// Share of the features here whose nearest parent is below the threshold: new at this size.
        public func newShare(threshold: Double) -> Double {
            Double(parentCosine.filter { $0 < threshold }.count) / Double(Swift.max(features, 1))
        }

        func share(_ test: (Int) -> Bool) -> Double {
            Double(children.filter { test($0.count) }.count) / Double(Swift.max(children.count, 1))
        }
    }

    public var sizes: [Int]
    public var threshold: Double
    /// levels[i] relates dictionary i + 1 to dictionary i.
    public var levels: [Level]

    /// `decoders[i]` (Fᵢ, d): dictionary i's decoder rows, smallest dictionary first;
    /// `activations[i]` (N, Fᵢ): its features on the same N inputs for every dictionary.
    public init(decoders: [Tensor], activations: [Tensor], threshold: Double = 0.5) throws {
        guard decoders.count >= 2, activations.count == decoders.count else {
            throw TorchError("feature splitting compares at least two dictionaries, each with its activations; got \(decoders.count) and \(activations.count)")
        }
        guard (0...1).contains(threshold) else { throw TorchError("the cosine threshold must lie in [0, 1], got \(threshold)") }
        let d = decoders[0].shape.last ?? 0
        for (decoder, acts) in zip(decoders, activations) {
            guard decoder.rank == 2, decoder.shape[1] == d, acts.rank == 2, acts.shape[1] == decoder.shape[0],
                  acts.shape[0] == activations[0].shape[0], acts.shape[0] >= 2 else {
                throw TorchError("every dictionary must decode to \(d) values and come with (N ≥ 2, features) activations on the same inputs; got decoder \(decoder.shape), activations \(acts.shape)")
            }
        }
        sizes = decoders.map { $0.shape[0] }
        guard zip(sizes, sizes.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw TorchError("give the dictionaries smallest first, each larger than the last; got sizes \(sizes)")
        }
        self.threshold = threshold
        levels = try (1..<decoders.count).map { i in
            try Self.level(small: (decoders[i - 1], activations[i - 1]), large: (decoders[i], activations[i]), threshold: threshold)
        }
    }

    static func level(small: (decoder: Tensor, activations: Tensor), large: (decoder: Tensor, activations: Tensor), threshold: Double) throws -> Level {
        func unit(_ w: Tensor) throws -> Tensor {
            let w64 = try w.detached().to(.float64)
            return try w64 / w64.norm(dims: [1], keepDims: true).clamp(min: 1e-12)
        }
        let cosines = try unit(large.decoder).matmul(unit(small.decoder).t())   // (F_large, F_small)
        let (best, parent) = (try cosines.max(dims: [1]), try cosines.argmax(dim: 1))
        let bestValues = try best.scalars(as: Double.self), parents = try parent.scalars(as: Int64.self)
        var children = [[Child]](repeating: [], count: small.decoder.shape[0])
        for (feature, (cosine, p)) in zip(bestValues, parents).enumerated() where cosine >= threshold {
            children[Int(p)].append(Child(feature: feature, cosine: cosine))
        }
        for i in children.indices { children[i].sort { $0.cosine > $1.cosine } }
        // Membership (F_large, F_small): the sum of each family's activations in one product.
        let member = try parent.unsqueezed(dim: 1).eq(Tensor.arange(0, Double(small.decoder.shape[0])).unsqueezed(dim: 0))
            .logicalAnd(best.ge(threshold).unsqueezed(dim: 1)).to(.float64)
        let familySum = try large.activations.detached().to(.float64).matmul(member)
        let correlations = try columnCorrelations(small.activations.detached().to(.float64), familySum)
        let familyCorrelation = zip(children, correlations).map { family, r -> Double? in family.isEmpty || r.isNaN ? nil : r }
        return Level(features: large.decoder.shape[0], children: children, parentCosine: bestValues, familyCorrelation: familyCorrelation)
    }

    /// Pearson r of each column of `a` with the same column of `b`; NaN where either is constant.
    static func columnCorrelations(_ a: Tensor, _ b: Tensor) throws -> [Double] {
        let ca = try a - a.mean(dims: [0], keepDims: true), cb = try b - b.mean(dims: [0], keepDims: true)
        let na = try ca.norm(dims: [0]), nb = try cb.norm(dims: [0])
        let r = try (ca * cb).sum(dims: [0]) / (na * nb).clamp(min: 1e-300)
        let constant = try na.le(1e-12).logicalOr(nb.le(1e-12)).scalars(as: Bool.self)
        return zip(try r.scalars(as: Double.self), constant).map { $1 ? .nan : $0 }
    }
}
