import Foundation
import Torch

/// Elhage et al.'s (2022) privileged basis: the sweep's toy models with and without a ReLU on the
/// hidden layer. Without it any rotation of the hidden space is an equally good model, so nothing
/// ties features to neurons; with it the neuron axes are special, and features should line up with
/// them. Measured by how close each feature's direction comes to a neuron axis, and by how heavy-
/// tailed the hidden activations are along the neurons against along randomly rotated axes.
public struct PrivilegedBasis {
    public struct Result: Codable, Sendable {
        public var reluHidden: Bool
        public var sparsity: Double
        public var loss: Double
        public var represented: Int
        /// Mean over represented features of maxⱼ |cos(Wᵢ, neuron j)|: 1 when each lies on a neuron;
        /// random directions in m = 5 dimensions give about 0.7.
        public var neuronAlignment: Double
        /// Mean excess kurtosis of the hidden activations along each neuron …
        public var kurtosisNeurons: Double
        /// … and along the axes of a random rotation of the hidden space.
        public var kurtosisRotated: Double
    }

    public var features = 20, hidden = 5, importanceDecay = 0.7
    public var sparsities = [0.7, 0.9, 0.97]
    public var steps = 10_000, batchSize = 1024, learningRate = 1e-3
    public var evaluationBatch = 8192

    public init() {}

    /// Without the hidden ReLU first, then with it, each over `sparsities`.
    public func run(seed: UInt64) throws -> [Result] {
        let all = sparsities + sparsities, privileged = sparsities.map { _ in false } + sparsities.map { _ in true }
        let models = try ToyModels(hidden: hidden, importance: ToyModels.importance(decay: importanceDecay, features: features, instances: all.count),
                                   density: ToyModels.density(all.map { 1 - $0 }, features: features),
                                   reluOutput: all.map { _ in true }, hiddenReLU: privileged, generator: Generator(seed: seed))
        let losses = try models.train(steps: steps, batchSize: batchSize, learningRate: learningRate, seed: seed)
        let geometry = try FeatureGeometry(weight: models.weight)
        let norms = try geometry.norms.scalars(as: Double.self)
        let alignment = try (geometry.norms.unsqueezed(dim: 1).reciprocal() * models.weight.detached().to(.float64).abs()).max(dims: [1]).scalars(as: Double.self)
        let (neurons, rotated) = try noGrad { () -> ([Double], [Double]) in
            let h = try models.hiddenActivations(models.sample(batchSize: evaluationBatch, seed: seed &+ 2, draw: 0)).to(.float64)
            let rotation = try Tensor.randn([hidden, hidden], dtype: .float64, generator: Generator(seed: seed &+ 3)).svd().u
            return (try Self.kurtosis(h), try Self.kurtosis(h.matmul(rotation)))
        }
        return all.indices.map { i in
            let row = (i * features)..<((i + 1) * features)
            let kept = row.filter { norms[$0] > 0.5 }
            return Result(reluHidden: privileged[i], sparsity: all[i], loss: losses[i], represented: kept.count,
                          neuronAlignment: kept.isEmpty ? 0 : kept.map { alignment[$0] }.reduce(0, +) / Double(kept.count),
                          kurtosisNeurons: neurons[i], kurtosisRotated: rotated[i])
        }
    }

    /// Mean excess kurtosis over the axes of activations (instances, batch, axes) that vary, per instance.
    static func kurtosis(_ h: Tensor) throws -> [Double] {
        let centred = try h - h.mean(dims: [1], keepDims: true)
        let squared = try centred * centred
        let variance = try squared.mean(dims: [1]), fourth = try (squared * squared).mean(dims: [1])
        let varies = try variance.gt(1e-12).to(.float64)
        let excess = try (fourth / (variance * variance).clamp(min: 1e-24) - 3) * varies
        return try (excess.sum(dims: [1]) / varies.sum(dims: [1]).clamp(min: 1)).scalars(as: Double.self)
    }
}
