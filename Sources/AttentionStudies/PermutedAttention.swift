import Foundation
import NN
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
                let median = try medianChange(outputs, original)
                return Text(length: trimmed.shape[1], predicted: try original.argmax(dim: 1).itemInt(),
                            maxAttention: try weights.max().item(), medianChange: median)
            }
            texts.append(record)
            progress(row + 1, ids.shape[0])
        }
        return texts
    }
}

/// The permutation test on a transformer (`TransformerAttentionAgreement.Subject`): in each of
/// `permutations` copies of a text, every head's attention pattern at every layer has its key
/// positions shuffled by one random order of the text's tokens (the same order for every query,
/// head and layer of the copy), so each query spreads the same weights over other tokens. A
/// text's largest attention is the largest weight a token receives, averaged over queries and
/// heads of the last layer.
public enum TransformerPermutedAttention {
    public static func measure(_ subject: TransformerAttentionAgreement.Subject, texts: [[Int]], permutations: Int = 100, seed: UInt64,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> [PermutedAttention.Text] {
        guard permutations >= 1 else { throw TorchError("at least one permutation is needed") }
        let generator = Generator(seed: seed), model = subject.model
        return try texts.enumerated().map { index, tokens in
            let t = tokens.count
            let ids = try Tensor(tokens.map { Int64($0) }, shape: [1, t])
            var last: Tensor?
            let original = try noGrad {
                try model.withHooks([(subject.patternHookPoints.last!, { pattern, _ in last = pattern; return nil })]) { try model(ids).softmax(dim: 1) }
            }
            let orders = try Tensor.rand([permutations, t], generator: generator).sorted(dim: 1).indices
            let shuffle: ActivationHook = { pattern, _ in
                let (heads, queries) = (pattern.shape[1], pattern.shape[2])
                let index = try orders.reshaped([permutations, 1, 1, t]).expanded(to: [permutations, heads, queries, t]).contiguous()
                return try pattern.gather(dim: 3, index: index)
            }
            let outputs = try noGrad {
                try model.withHooks(subject.patternHookPoints.map { ($0, shuffle) }) { try model(ids.expanded(to: [permutations, t]).contiguous()).softmax(dim: 1) }
            }
            let median = try medianChange(outputs, original)
            guard let last else { throw TorchError("the model did not reach its attention hook points") }
            progress(index + 1, texts.count)
            return PermutedAttention.Text(length: t, predicted: try original.argmax(dim: 1).itemInt(),
                                          maxAttention: try last.mean(dims: [1, 2]).max().item(), medianChange: median)
        }
    }
}

/// The median total variation distance between each row of `outputs` and `original`.
func medianChange(_ outputs: Tensor, _ original: Tensor) throws -> Double {
    let change = try Divergence.totalVariation(outputs, original).to(.float64).scalars(as: Double.self).sorted()
    return change.count % 2 == 1 ? change[change.count / 2] : (change[change.count / 2 - 1] + change[change.count / 2]) / 2
}
