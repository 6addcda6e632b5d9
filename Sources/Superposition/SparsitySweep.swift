import Foundation
import Torch

/// One trained toy-model instance, as the report and the JSON show it.
public struct ToyModelSummary: Codable, Sendable {
    public var sparsity: Double
    public var reluOutput: Bool
    public var loss: Double
    /// WᵀW, features × features.
    public var gram: [[Double]]
    public var bias: [Double]
    public var norms: [Double]
    public var superposition: [Double]
    public var dimensionality: [Double]

    /// Features the model represents (‖Wᵢ‖ > 0.5) and those among them that share their direction
    /// (Σⱼ≠ᵢ (Ŵᵢ·Wⱼ)² > 0.1).
    public var represented: Int { norms.filter { $0 > 0.5 }.count }
    public var inSuperposition: Int { zip(norms, superposition).filter { $0 > 0.5 && $1 > 0.1 }.count }

    /// The summaries of every instance of trained toy models, with the sparsity each one had.
    static func all(_ models: ToyModels, sparsities: [Double], losses: [Double]) throws -> [ToyModelSummary] {
        let geometry = try FeatureGeometry(weight: models.weight)
        let gram = try geometry.gram.scalars(as: Double.self), bias = try models.bias.detached().to(.float64).scalars(as: Double.self)
        let norms = try geometry.norms.scalars(as: Double.self), shared = try geometry.superposition.scalars(as: Double.self)
        let dimensionality = try geometry.dimensionality.scalars(as: Double.self)
        let n = models.features
        return (0..<models.instances).map { i in
            let row = { (values: [Double]) in Array(values[(i * n)..<((i + 1) * n)]) }
            return ToyModelSummary(sparsity: sparsities[i], reluOutput: models.reluOutput[i], loss: losses[i],
                                   gram: (0..<n).map { Array(gram[(i * n * n + $0 * n)..<(i * n * n + ($0 + 1) * n)]) },
                                   bias: row(bias), norms: row(norms), superposition: row(shared), dimensionality: row(dimensionality))
        }
    }
}

/// Elhage et al.'s main demonstration: n = 20 features, m = 5 dimensions, importance 0.7ⁱ, a sweep
/// of sparsity S, the linear model beside the ReLU-output one; all instances train as one program.
/// Published result: the linear model keeps the m most important features orthogonally and drops
/// the rest at every sparsity; with the ReLU output, features go into superposition as S rises.
public struct SparsitySweep {
    public var features = 20, hidden = 5
    public var importanceDecay = 0.7
    public var sparsities = [0, 0.7, 0.9, 0.97, 0.99, 0.997, 0.999]
    public var steps = 10_000, batchSize = 1024, learningRate = 1e-3

    public init() {}

    /// Linear instances first, then ReLU ones, each in the order of `sparsities`.
    public func run(seed: UInt64) throws -> [ToyModelSummary] {
        guard !sparsities.isEmpty, sparsities.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw TorchError("sparsities must lie in [0, 1)") }
        let all = sparsities + sparsities
        let importance = try ToyModels.importance(decay: importanceDecay, features: features, instances: all.count)
        let density = try ToyModels.density(all.map { 1 - $0 }, features: features)
        let models = try ToyModels(hidden: hidden, importance: importance, density: density,
                                   reluOutput: sparsities.map { _ in false } + sparsities.map { _ in true }, generator: Generator(seed: seed))
        let losses = try models.train(steps: steps, batchSize: batchSize, learningRate: learningRate, seed: seed)
        return try ToyModelSummary.all(models, sparsities: all, losses: losses)
    }
}
