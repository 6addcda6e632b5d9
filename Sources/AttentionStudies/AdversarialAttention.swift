import Datasets
import Foundation
import TextModels
import Torch

/// Jain & Wallace (2019), §4.3: for each text, `candidates` attention distributions as far from
/// the model's own as possible (Jensen–Shannon divergence, plus the mean divergence between the
/// candidates so that they differ from each other), while the output moves by at most
/// `tolerance` in total variation. The constraint is a penalty (`penalty` × the excess), the
/// distributions are softmaxes of free logits over the text's tokens, optimised with Adam. A text
/// whose best feasible candidate is far from the original (near log 2 ≈ 0.69) had attention that
/// could have sat elsewhere with the same prediction.
public struct AdversarialAttention: Sendable {
    public var candidates = 4
    public var steps = 200
    public var tolerance = 0.01
    public var penalty = 500.0
    public var learningRate = 0.1
    /// Texts optimised at once (each with its candidates).
    public var batchSize = 64

    public init() {}

    public struct Text: Codable, Sendable {
        public var length: Int
        public var predicted: Int
        public var maxAttention: Double
        /// The largest divergence of a candidate whose output stayed within the tolerance (0 if none did).
        public var maxDivergence: Double
        /// Candidates within the tolerance.
        public var feasible: Int
        /// That candidate's output change (TVD) and weights (nil and empty when none was feasible),
        /// and the original weights, per token.
        public var outputChange: Double?
        public var original: [Double]
        public var adversarial: [Double]
    }

    /// The texts of `ids` (N, T, padding 0), in order; the candidates start from the model's own
    /// weights plus noise from a generator seeded with `seed`. The model's parameters get no gradients.
    public func search(_ model: BiLSTMAttentionClassifier, ids: Tensor, seed: UInt64,
                       progress: (Int, Int) -> Void = { _, _ in }) throws -> [Text] {
        guard candidates >= 1, steps >= 1, tolerance > 0, batchSize >= 1 else {
            throw TorchError("adversarial attention needs at least one candidate and one step, a positive tolerance and batch size")
        }
        let generator = Generator(seed: seed)
        var texts: [Text] = []
        for start in stride(from: 0, to: ids.shape[0], by: batchSize) {
            let rows = try ids.slice(dim: 0, start: start, end: min(ids.shape[0], start + batchSize))
            texts += try searchBatch(model, ids: TokenBatch.trimmed(rows).contiguous(), generator: generator)
            progress(texts.count, ids.shape[0])
        }
        return texts
    }

    func searchBatch(_ model: BiLSTMAttentionClassifier, ids: Tensor, generator: Generator) throws -> [Text] {
        let (b, k, t) = (ids.shape[0], candidates, ids.shape[1])
        let (states, keep, weights, outputs) = try noGrad { () throws -> (Tensor, Tensor, Tensor, Tensor) in
            let (states, keep) = try model.states(ids)
            let weights = try model.attend(states, keep: keep)
            return (states, keep, weights, try model.classify(states: states, weights: weights).softmax(dim: 1))
        }
        func repeated(_ x: Tensor) throws -> Tensor {
            try x.unsqueezed(dim: 1).expanded(to: [b, k] + Array(x.shape.dropFirst())).reshaped([b * k] + Array(x.shape.dropFirst()))
        }
        let (manyStates, manyKeep, manyWeights, manyOutputs) = (try repeated(states), try repeated(keep), try repeated(weights), try repeated(outputs))
        let blocked = try manyKeep.logicalNot().to(.float32) * -1e9
        var logits = try manyWeights.clamp(min: 1e-8).log() + Tensor.randn([b * k, t], generator: generator)
        var (m, v) = (try logits.zerosLike(), try logits.zerosLike())
        func evaluate(_ logits: Tensor) throws -> (objective: Tensor, divergence: Tensor, change: Tensor, weights: Tensor) {
            let candidate = try (logits + blocked).softmax(dim: 1)
            let change = try Divergence.totalVariation(model.classify(states: manyStates, weights: candidate).softmax(dim: 1), manyOutputs)
            let divergence = try Divergence.jensenShannon(candidate, manyWeights)
            let grouped = try candidate.reshaped([b, k, t])
            let between = try Divergence.jensenShannon(grouped.unsqueezed(dim: 2).expanded(to: [b, k, k, t]),
                                                       grouped.unsqueezed(dim: 1).expanded(to: [b, k, k, t]))
            let diversity = k > 1 ? try between.sum(dims: [1, 2]) / Double(k * (k - 1)) : try Tensor.zeros([b])
            let excess = try (change - tolerance).clamp(min: 0).reshaped([b, k]).mean(dims: [1])
            let objective = try divergence.reshaped([b, k]).mean(dims: [1]) + diversity - excess * penalty
            return (objective, divergence, change, candidate)
        }
        // Adam (Kingma & Ba 2015) on the logits alone, by hand: the model's parameters stay untouched.
        let (beta1, beta2) = (0.9, 0.999)
        for step in 1...steps {
            let leaf = try logits.detached().requiringGrad()
            let gradient = try withGrad { try Tensor.grad(of: -evaluate(leaf).objective.sum(), wrt: leaf) }
            try noGrad {
                m = try m * beta1 + gradient * (1 - beta1)
                v = try v * beta2 + gradient.square() * (1 - beta2)
                let corrected = try (m / (1 - Foundation.pow(beta1, Double(step)))) / ((v / (1 - Foundation.pow(beta2, Double(step)))).sqrt() + 1e-8)
                logits = try logits - corrected * learningRate
            }
        }
        let final = try noGrad { try evaluate(logits) }
        let divergence = try final.divergence.to(.float64).scalars(as: Double.self), change = try final.change.to(.float64).scalars(as: Double.self)
        let lengths = try keep.to(.int64).sum(dims: [1]).scalars(as: Int64.self).map(Int.init)
        let predicted = try outputs.argmax(dim: 1).scalars(as: Int64.self).map(Int.init)
        let peaks = try weights.max(dims: [1]).to(.float64).scalars(as: Double.self)
        return try (0..<b).map { row in
            let tried = (0..<k).map { row * k + $0 }.filter { change[$0] <= tolerance }
            let best = tried.max { divergence[$0] < divergence[$1] }
            let length = lengths[row]
            func tokens(_ x: Tensor, _ index: Int) throws -> [Double] {
                try x.select(dim: 0, index: index).slice(dim: 0, start: 0, end: length).to(.float64).scalars(as: Double.self)
            }
            return Text(length: length, predicted: predicted[row], maxAttention: peaks[row], maxDivergence: best.map { divergence[$0] } ?? 0,
                        feasible: tried.count, outputChange: best.map { change[$0] }, original: try tokens(weights, row),
                        adversarial: try best.map { try tokens(final.weights, $0) } ?? [])
        }
    }
}
