import Foundation
import Torch

/// Elhage et al.'s (2022) phase diagram: n = 2 features, m = 1 dimension, ReLU output; feature 0
/// weighs 1 in the loss, the extra feature 1 weighs r; both are present with density 1 − S. One
/// instance per (r, density) cell, all trained at once. Published result: with dense features the
/// more important feature takes the dimension and the other is dropped; as features get sparse,
/// both share it antipodally (superposition), over a region around r = 1 that widens with sparsity.
public struct PhaseDiagram {
    public enum Phase: String, Codable, Sendable, CaseIterable {
        case notRepresented = "extra feature not represented"
        case dedicated = "extra feature gets the dimension"
        case superposition = "superposition"
        case neither = "neither represented"
    }

    public struct Cell: Codable, Sendable {
        public var relativeImportance: Double
        public var density: Double
        public var phase: Phase
        /// W (1 × 2): the two features' positions on the one dimension.
        public var weight: [Double]
        public var loss: Double
    }

    /// Relative importances r (log-spaced 0.1 … 10) and densities 1 − S (log-spaced 0.01 … 1).
    public var importances = PhaseDiagram.logSpaced(from: 0.1, to: 10, count: 9)
    public var densities = PhaseDiagram.logSpaced(from: 0.01, to: 1, count: 9)
    /// Half the sweep's steps at a larger learning rate: 243 two-feature instances make a step
    /// several times dearer than the sweep's, and these models settle quickly.
    public var steps = 5000, batchSize = 1024, learningRate = 5e-3
    /// Instances per cell from different initial W; the cell keeps the one with the lowest loss, as
    /// one start can settle with both features on the same side of the dimension (a local minimum).
    public var restarts = 3

    public init() {}

    public static func logSpaced(from low: Double, to high: Double, count: Int) -> [Double] {
        count == 1 ? [low] : (0..<count).map { low * Foundation.pow(high / low, Double($0) / Double(count - 1)) }
    }

    /// A feature is represented when |Wᵢ| > 0.5 (trained ones sit near 1, dropped ones near 0).
    public static func phase(of weight: [Double]) -> Phase {
        switch (abs(weight[0]) > 0.5, abs(weight[1]) > 0.5) {
        case (true, true): return .superposition
        case (true, false): return .notRepresented
        case (false, true): return .dedicated
        case (false, false): return .neither
        }
    }

    /// Cells in the order importance-major (all densities of the first r, then the next r).
    public func run(seed: UInt64) throws -> [Cell] {
        guard !importances.isEmpty, !densities.isEmpty, importances.allSatisfy({ $0 > 0 }), densities.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
            throw TorchError("the phase diagram needs positive importances and densities in (0, 1]")
        }
        guard restarts >= 1 else { throw TorchError("the phase diagram needs at least one start per cell") }
        let cells = importances.flatMap { r in densities.map { (r, $0) } }
        let instances = cells.flatMap { cell in Array(repeating: cell, count: restarts) }
        let importance = try Tensor(instances.flatMap { [1, $0.0] }, shape: [instances.count, 2])
        let density = try Tensor(instances.flatMap { [$0.1, $0.1] }, shape: [instances.count, 2])
        let models = try ToyModels(hidden: 1, importance: importance, density: density, reluOutput: instances.map { _ in true },
                                   generator: Generator(seed: seed))
        let losses = try models.train(steps: steps, batchSize: batchSize, learningRate: learningRate, seed: seed)
        let weights = try models.weight.detached().to(.float64).scalars(as: Double.self)
        return cells.enumerated().map { index, cell in
            let best = (index * restarts..<(index + 1) * restarts).min { losses[$0] < losses[$1] }!
            let w = [weights[2 * best], weights[2 * best + 1]]
            return Cell(relativeImportance: cell.0, density: cell.1, phase: Self.phase(of: w), weight: w, loss: losses[best])
        }
    }
}
