import NN
import Torch

/// Wiegreffe & Pinter's (2019, §5) diagnostic classifier: each token seen alone (embedding, then a
/// tanh layer: no context), the tokens pooled by attention weights, then a linear layer. The
/// weights are the model's own (additive attention over its token states), uniform over the real
/// tokens, or imposed from another model and kept frozen. If another model's attention helps this
/// context-free classifier more than uniform weights do, that attention tells which tokens matter.
/// Input: token ids (N, T) int64, padding 0.
public final class TokenMLPClassifier: Module {
    public enum Attention: String, CaseIterable, Codable, Sendable { case uniform, own, imposed }

    public let attentionKind: Attention
    let embedding: Embedding, hidden: Linear, attention: AdditiveAttention, output: Linear

    public init(vocabularySize: Int, classes: Int, attention kind: Attention, embeddingSize: Int = 128, hiddenSize: Int = 64,
                generator: Generator? = nil) throws {
        attentionKind = kind
        embedding = try Embedding(vocabularySize, embeddingSize, generator: generator)
        hidden = try Linear(embeddingSize, hiddenSize, generator: generator)
        attention = try AdditiveAttention(hiddenSize, attentionSize: hiddenSize, generator: generator)
        output = try Linear(hiddenSize, classes, generator: generator)
        super.init()
        assignPaths()
    }

    public override var children: [(name: String, module: Module)] {
        [("embedding", embedding), ("hidden", hidden)] + (attentionKind == .own ? [("attention", attention)] : []) + [("output", output)]
    }

    public override func forward(_ ids: Tensor) throws -> Tensor { try run(ids, imposed: nil) }

    /// Logits; `imposed` (N, T) weights are required with `.imposed` attention and used as given.
    public func run(_ ids: Tensor, imposed: Tensor?) throws -> Tensor {
        let keep = try ids.ne(0)
        let states = try hidden(embedding(ids)).tanh()
        let weights: Tensor
        switch attentionKind {
        case .own: weights = try attention.run(states, padding: keep).weights
        case .uniform:
            let real = try keep.to(states.dtype)
            weights = try real / real.sum(dims: [1], keepDims: true).clamp(min: 1)
        case .imposed:
            guard let imposed, imposed.shape == ids.shape else {
                throw TorchError("imposed attention needs weights of the ids' shape \(ids.shape)")
            }
            weights = try imposed.detached()
        }
        return try output((states * weights.unsqueezed(dim: 2)).sum(dims: [1]))
    }
}
