import Foundation
import Torch

/// Elhage et al.'s (2022) feature dimensionality: equally important features, ReLU output, a sweep
/// of sparsity; each feature's Dᵢ = ‖Wᵢ‖² / Σⱼ (Ŵᵢ·Wⱼ)² against 1/(1 − S). Published result: as
/// features get sparser the model packs more of them into m dimensions, and Dᵢ sticks at the
/// fractions of small regular arrangements: 1 (own dimension), 3/4 (tetrahedron), 2/3 (triangle),
/// 1/2 (antipodal pair), 2/5 (pentagon), 1/3 …
public struct DimensionalityStudy {
    public struct Point: Codable, Sendable {
        public var inverseDensity: Double
        public var dimensionality: [Double]
        public var loss: Double
        /// ‖W‖²_F / m, the features the model represents per hidden dimension (Elhage et al. plot
        /// its inverse, "dimensions per feature"; ΣDᵢ / m would stay near 1 by construction).
        public var featuresPerDimension: Double
    }

    public static let stickyFractions = [1, 3.0 / 4, 2.0 / 3, 1.0 / 2, 2.0 / 5, 1.0 / 3]

    public var features = 60, hidden = 6
    /// 1/(1 − S), log-spaced from 1.2 to 40: the features fill the m dimensions at about 1/(1 − S) = n/m.
    public var inverseDensities = PhaseDiagram.logSpaced(from: 1.2, to: 40, count: 14)
    public var steps = 6000, batchSize = 1024, learningRate = 5e-3

    public init() {}

    public func run(seed: UInt64) throws -> [Point] {
        guard !inverseDensities.isEmpty, inverseDensities.allSatisfy({ $0 >= 1 }) else { throw TorchError("1/(1 − S) must be at least 1") }
        let importance = try ToyModels.importance(decay: 1, features: features, instances: inverseDensities.count)
        let density = try ToyModels.density(inverseDensities.map { 1 / $0 }, features: features)
        let models = try ToyModels(hidden: hidden, importance: importance, density: density, reluOutput: inverseDensities.map { _ in true },
                                   generator: Generator(seed: seed))
        let losses = try models.train(steps: steps, batchSize: batchSize, learningRate: learningRate, seed: seed)
        let geometry = try FeatureGeometry(weight: models.weight)
        let dimensionality = try geometry.dimensionality.scalars(as: Double.self)
        let represented = try geometry.norms.square().sum(dims: [1]).scalars(as: Double.self)
        return inverseDensities.enumerated().map { index, inverse in
            let row = Array(dimensionality[(index * features)..<((index + 1) * features)])
            return Point(inverseDensity: inverse, dimensionality: row, loss: losses[index], featuresPerDimension: represented[index] / Double(hidden))
        }
    }

    /// The share of represented features (Dᵢ > 0.05) within `tolerance` of a sticky fraction.
    public static func stickyShare(_ points: [Point], tolerance: Double = 0.03) -> Double {
        let represented = points.flatMap(\.dimensionality).filter { $0 > 0.05 }
        guard !represented.isEmpty else { return 0 }
        return Double(represented.filter { d in stickyFractions.contains { abs(d - $0) <= tolerance } }.count) / Double(represented.count)
    }
}
