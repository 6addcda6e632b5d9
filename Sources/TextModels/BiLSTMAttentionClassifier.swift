import NN
import Torch

/// The classifier Jain & Wallace (2019) test attention on: word embeddings, a bidirectional LSTM,
/// additive attention pooling over its states, and a linear layer. Input: token ids (N, T) int64,
/// padding 0. Hook points: `embedding`, `hook_states` (N, T, 2·hidden), `attention.hook_pattern` (N, T).
public final class BiLSTMAttentionClassifier: Module {
    public struct Configuration: Codable, Sendable, Equatable {
        public var vocabularySize: Int
        public var embeddingSize = 128
        public var hiddenSize = 64
        public var attentionSize = 64
        public var classes = 2
        /// Attention frozen to uniform weights over the real tokens: Wiegreffe & Pinter's (2019)
        /// baseline, which asks whether the trained attention is needed at all.
        public var uniformAttention = false

        public init(vocabularySize: Int, classes: Int) {
            self.vocabularySize = vocabularySize
            self.classes = classes
        }

        enum CodingKeys: String, CodingKey { case vocabularySize, embeddingSize, hiddenSize, attentionSize, classes, uniformAttention }

        /// Files written before `uniformAttention` existed have trained attention.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            (vocabularySize, classes) = (try c.decode(Int.self, forKey: .vocabularySize), try c.decode(Int.self, forKey: .classes))
            embeddingSize = try c.decode(Int.self, forKey: .embeddingSize)
            hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
            attentionSize = try c.decode(Int.self, forKey: .attentionSize)
            uniformAttention = try c.decodeIfPresent(Bool.self, forKey: .uniformAttention) ?? false
        }
    }

    public let configuration: Configuration
    let embedding: Embedding, lstm: LSTM, attention: AdditiveAttention, output: Linear
    let hookStates = HookPoint()

    public init(_ c: Configuration, generator: Generator? = nil) throws {
        configuration = c
        embedding = try Embedding(c.vocabularySize, c.embeddingSize, generator: generator)
        lstm = try LSTM(c.embeddingSize, hiddenSize: c.hiddenSize, bidirectional: true, generator: generator)
        attention = try AdditiveAttention(2 * c.hiddenSize, attentionSize: c.attentionSize, generator: generator)
        output = try Linear(2 * c.hiddenSize, c.classes, generator: generator)
        super.init()
        assignPaths()
    }

    public override var children: [(name: String, module: Module)] {
        [("embedding", embedding), ("lstm", lstm), ("attention", attention), ("output", output), ("hook_states", hookStates)]
    }

    public override func forward(_ ids: Tensor) throws -> Tensor {
        try run(ids).logits
    }

    /// The BiLSTM's states (N, T, 2·hidden) and the mask of real tokens (N, T).
    public func states(_ ids: Tensor) throws -> (states: Tensor, keep: Tensor) {
        let (keep, lengths) = try TokenIds.prepare(ids)
        return (try hookStates(lstm.run(embedding(ids), lengths: lengths).output), keep)
    }

    /// Logits and the attention weights used, which are the model's own unless `attentionWeights`
    /// (N, T) replaces them: Jain & Wallace's (2019) permuted and adversarial attention, and gradients
    /// with the attention held fixed.
    public func run(_ ids: Tensor, attentionWeights: Tensor? = nil) throws -> (logits: Tensor, weights: Tensor) {
        let (states, keep) = try states(ids)
        let weights = try attentionWeights ?? attend(states, keep: keep)
        return (try classify(states: states, weights: weights), weights)
    }

    /// The output layer on the states pooled by `weights` (N, T).
    public func classify(states: Tensor, weights: Tensor) throws -> Tensor {
        guard weights.shape == Array(states.shape.prefix(2)) else {
            throw TorchError("attention weights must be (N, T) = \(Array(states.shape.prefix(2))), got \(weights.shape)")
        }
        return try output((states * weights.unsqueezed(dim: 2)).sum(dims: [1]))
    }

    /// The attention weights for each token (N, T), padding 0: the "explanation" under test.
    public func attentionWeights(_ ids: Tensor) throws -> Tensor {
        let (states, keep) = try states(ids)
        return try attend(states, keep: keep)
    }

    /// The attention weights over given states (N, T, 2·hidden), zero where `keep` is false
    /// (uniform over the real tokens with `uniformAttention`).
    public func attend(_ states: Tensor, keep: Tensor) throws -> Tensor {
        if configuration.uniformAttention {
            let real = try keep.to(states.dtype)
            return try real / real.sum(dims: [1], keepDims: true)
        }
        return try attention.run(states, padding: keep).weights
    }
}

/// A one-layer transformer classifier: word embeddings plus learned positions, one transformer
/// block with a padding mask, mean pooling over real tokens, a linear layer.
public final class TransformerClassifier: Module {
    public struct Configuration: Codable, Sendable, Equatable {
        public var vocabularySize: Int
        public var width = 128
        public var heads = 4
        public var mlpWidth = 256
        public var maxLength = 128
        public var activation = TransformerBlock.Activation.gelu
        public var classes = 2

        public init(vocabularySize: Int, classes: Int) {
            self.vocabularySize = vocabularySize
            self.classes = classes
        }
    }

    public let configuration: Configuration
    let embedding: Embedding, positions: Embedding, block: TransformerBlock, output: Linear

    public init(_ c: Configuration, generator: Generator? = nil) throws {
        configuration = c
        embedding = try Embedding(c.vocabularySize, c.width, generator: generator)
        positions = try Embedding(c.maxLength, c.width, generator: generator)
        block = try TransformerBlock(width: c.width, heads: c.heads, mlpWidth: c.mlpWidth, activation: c.activation, preLayerNorm: true,
                                     generator: generator)
        output = try Linear(c.width, c.classes, generator: generator)
        super.init()
        assignPaths()
    }

    public override var children: [(name: String, module: Module)] {
        [("embedding", embedding), ("positions", positions), ("block", block), ("output", output)]
    }

    public override func forward(_ ids: Tensor) throws -> Tensor {
        let (keep, _) = try TokenIds.prepare(ids)
        guard ids.shape[1] <= configuration.maxLength else {
            throw TorchError("this model takes at most \(configuration.maxLength) tokens, got \(ids.shape[1])")
        }
        let x = try embedding(ids) + positions(Tensor.arange(0, Double(ids.shape[1])).unsqueezed(dim: 0))
        let states = try block.run(x, padding: keep, causal: false)
        let weights = try keep.to(states.dtype).unsqueezed(dim: 2)
        return try output((states * weights).sum(dims: [1]) / weights.sum(dims: [1]))
    }
}

/// Token-id batches as the text models take them: padding id 0.
enum TokenIds {
    /// The mask of real tokens and each row's length. A row of padding alone (an attribution
    /// baseline) counts its first position as a token, so every row has one.
    static func prepare(_ ids: Tensor) throws -> (keep: Tensor, lengths: Tensor) {
        guard ids.rank == 2, ids.shape[1] > 0, !ids.dtype.isFloatingPoint else {
            throw TorchError("text models take token ids (N, T) as integers, got \(ids.shape) \(ids.dtype)")
        }
        let first = try Tensor.arange(0, Double(ids.shape[1])).eq(0).unsqueezed(dim: 0)
        let keep = try ids.ne(0).logicalOr(first)
        return (keep, try keep.to(.int64).sum(dims: [1]))
    }
}
