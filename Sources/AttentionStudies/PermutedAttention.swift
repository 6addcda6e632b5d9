import Foundation
import TextModels
import Torch

/// Jain & Wallace (2019), §4.2: shuffle a text's attention weights over its tokens many times,
/// keeping everything else, and see how far the output moves. Per text, the median total
/// variation distance between the original and the permuted outputs; a small median at a high
/// maximum attention means the model did not need attention to sit where it sat.
public enum PermutedAttention {
    public struct Text: Codable, Sendable {
        public var length: Int
        public var predicted: Int
        public var maxAttention: Double
        public var medianChange: Double
    }

    /// Each text's `permutations` shuffles run as one batch on its BiLSTM states; the shuffles come
    /// from a generator seeded with `seed`.
    public static func measure(_ model: BiLSTMAttentionClassifier, ids: Tensor, permutations: Int = 100, seed: UInt64,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> [Text] {
        guard permutations >= 1 else { throw TorchError("at least one permutation is needed") }
        let generator = Generator(seed: seed)
        var texts: [Text] = []
        for row in 0..<ids.shape[0] {
            let text = try ids.slice(dim: 0, start: row, end: row + 1)
            let length = try text.ne(0).to(.int64).sum().itemInt()
            let trimmed = try text.slice(dim: 1, start: 0, end: Swift.max(1, length))
            let record = try noGrad { () throws -> Text in
                let (states, keep) = try model.states(trimmed)
                let weights = try model.attend(states, keep: keep)
                let original = try model.classify(states: states, weights: weights).softmax(dim: 1)
                // Random orders of the tokens: argsort of uniform noise, one row per permutation.
                let orders = try Tensor.rand([permutations, trimmed.shape[1]], generator: generator).sorted(dim: 1).indices
                let shuffled = try weights.expanded(to: [permutations, trimmed.shape[1]]).gather(dim: 1, index: orders)
                let outputs = try model.classify(states: states.expanded(to: [permutations] + Array(states.shape.dropFirst())), weights: shuffled)
                    .softmax(dim: 1)
                let change = try Divergence.totalVariation(outputs, original).to(.float64).scalars(as: Double.self).sorted()
                let median = change.count % 2 == 1 ? change[change.count / 2] : (change[change.count / 2 - 1] + change[change.count / 2]) / 2
                return Text(length: trimmed.shape[1], predicted: try original.argmax(dim: 1).itemInt(),
                            maxAttention: try weights.max().item(), medianChange: median)
            }
            texts.append(record)
            progress(row + 1, ids.shape[0])
        }
        return texts
    }
}
