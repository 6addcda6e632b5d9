import NN
import Torch

/// A small decoder-only transformer language model (the subject of Elhage et al.'s one-layer
/// studies and of dictionary learning): token embeddings plus learned positions, causal pre-LayerNorm
/// blocks with a GELU or SoLU MLP, a final LayerNorm and an unembedding. Input: token ids (N, T),
/// padding 0; output: next-token logits (N, T, vocabulary). Names follow TransformerLens
/// (`embed`, `pos_embed`, `blocks.0.hook_resid_post`, `ln_final`, `unembed`).
public final class TransformerLanguageModel: Module {
    public struct Configuration: Codable, Sendable, Equatable {
        public var vocabularySize: Int
        public var width = 128
        public var heads = 4
        public var mlpWidth = 512
        public var layers = 1
        public var maxLength = 64
        public var activation = TransformerBlock.Activation.gelu

        public init(vocabularySize: Int) { self.vocabularySize = vocabularySize }
    }

    public let configuration: Configuration
    let embed: Embedding, positions: Embedding, blocks: ModuleList, finalNorm: LayerNorm, unembed: Linear

    public init(_ c: Configuration, generator: Generator? = nil) throws {
        configuration = c
        embed = try Embedding(c.vocabularySize, c.width, generator: generator)
        positions = try Embedding(c.maxLength, c.width, generator: generator)
        blocks = ModuleList(try (0..<c.layers).map { _ in
            try TransformerBlock(width: c.width, heads: c.heads, mlpWidth: c.mlpWidth, activation: c.activation, preLayerNorm: true, generator: generator)
        })
        finalNorm = try LayerNorm([c.width])
        unembed = try Linear(c.width, c.vocabularySize, generator: generator)
        super.init()
        assignPaths()
    }

    public override var children: [(name: String, module: Module)] {
        [("embed", embed), ("pos_embed", positions), ("blocks", blocks), ("ln_final", finalNorm), ("unembed", unembed)]
    }

    /// The transformer block at `index` (0 first).
    public func block(_ index: Int) throws -> TransformerBlock {
        guard blocks.modules.indices.contains(index), let block = blocks.modules[index] as? TransformerBlock else {
            throw TorchError("the model has \(blocks.modules.count) blocks; there is no block \(index)")
        }
        return block
    }

    public override func forward(_ ids: Tensor) throws -> Tensor {
        guard ids.rank == 2, !ids.dtype.isFloatingPoint else { throw TorchError("the language model takes token ids (N, T), got \(ids.shape) \(ids.dtype)") }
        guard ids.shape[1] <= configuration.maxLength else {
            throw TorchError("the language model takes at most \(configuration.maxLength) tokens, got \(ids.shape[1])")
        }
        var x = try embed(ids) + positions(Tensor.arange(0, Double(ids.shape[1])).unsqueezed(dim: 0))
        for case let block as TransformerBlock in blocks.modules { x = try block.run(x, padding: nil, causal: true) }
        return try unembed(finalNorm(x))
    }

    /// Mean next-token cross-entropy over positions whose target is not padding: logits (N, T, V)
    /// for targets (N, T).
    public static func loss(_ logits: Tensor, _ targets: Tensor) throws -> Tensor {
        let vocabulary = logits.shape[2]
        let perToken = try Functional.crossEntropy(logits.reshaped([-1, vocabulary]), target: targets.flattened(), reduction: .none)
        let real = try targets.flattened().ne(0).to(perToken.dtype)
        return try (perToken * real).sum() / real.sum().clamp(min: 1)
    }
}
