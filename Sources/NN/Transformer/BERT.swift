import Foundation
import Torch

/// The BERT encoder (Devlin et al. 2019) with Hugging Face's parameter names
/// (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`, …), so a
/// `BertModel`'s safetensors file loads strictly by name; all-MiniLM-L6-v2 is one
/// (Wang et al. 2020; Reimers & Gurevych 2019). Inference only: no dropout.
///
/// Input: token ids (N, T) int64, padding id 0 (BERT's [PAD]); padded positions are masked out of
/// attention. Output: the last hidden states (N, T, hidden). Hook points inside every layer are
/// named as TransformerLens names them: `hook_resid_pre`, `attention.self.hook_q` / `hook_k` /
/// `hook_v` (N, T, heads, d_head), `hook_pattern` (N, heads, T, T), `hook_z`, `hook_attn_out`,
/// `hook_resid_mid`, `intermediate.hook_mlp_pre` / `hook_mlp_post`, `hook_mlp_out`,
/// `hook_resid_post`.
public final class BERT: Module {
    public struct Configuration: Codable, Sendable, Equatable {
        public var vocabularySize = 30522
        public var hiddenSize = 384
        public var layers = 6
        public var heads = 12
        public var intermediateSize = 1536
        public var maxPositions = 512
        public var typeVocabularySize = 2
        public var layerNormEpsilon = 1e-12
        public var paddingId = 0

        public init() {}

        /// Reads Hugging Face's `config.json`.
        public init(huggingFaceConfig data: Data) throws {
            guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw TorchError("config.json is not a JSON object") }
            func int(_ key: String) throws -> Int {
                guard let value = json[key] as? Int, value > 0 else { throw TorchError("config.json lacks a positive \(key)") }
                return value
            }
            vocabularySize = try int("vocab_size"); hiddenSize = try int("hidden_size"); layers = try int("num_hidden_layers")
            heads = try int("num_attention_heads"); intermediateSize = try int("intermediate_size")
            maxPositions = try int("max_position_embeddings"); typeVocabularySize = try int("type_vocab_size")
            layerNormEpsilon = json["layer_norm_eps"] as? Double ?? 1e-12
            paddingId = json["pad_token_id"] as? Int ?? 0
            guard (json["hidden_act"] as? String ?? "gelu") == "gelu" else { throw TorchError("only BERT models with the GELU activation are supported") }
            guard hiddenSize % heads == 0 else { throw TorchError("hidden size \(hiddenSize) is not a multiple of \(heads) heads") }
        }
    }

    public let configuration: Configuration
    let embeddings: BERTEmbeddings
    let layerList: ModuleList
    let encoder: BERTEncoder
    let pooler: BERTPooler

    public init(_ configuration: Configuration, generator: Generator? = nil) throws {
        self.configuration = configuration
        embeddings = try BERTEmbeddings(configuration, generator: generator)
        layerList = ModuleList(try (0..<configuration.layers).map { _ in try BERTLayer(configuration, generator: generator) })
        encoder = BERTEncoder(layerList)
        pooler = try BERTPooler(configuration.hiddenSize, generator: generator)
        super.init()
        assignPaths()
        eval()
    }

    public override var children: [(name: String, module: Module)] {
        [("embeddings", embeddings), ("encoder", encoder), ("pooler", pooler)]
    }

    public override func forward(_ ids: Tensor) throws -> Tensor {
        let (_, additive) = try paddingMasks(ids)
        var x = try embeddings(ids)
        for case let layer as BERTLayer in layerList.modules { x = try layer.run(x, additiveMask: additive) }
        return x
    }

    /// Which ids are tokens, (N, T), and Hugging Face's extended mask (0 on tokens, the dtype's
    /// lowest value on padding) laid out once per call as the (N · heads, T, T) term the attention
    /// scores are added to.
    private func paddingMasks(_ ids: Tensor) throws -> (keep: Tensor, additive: Tensor) {
        guard ids.rank == 2, !ids.dtype.isFloatingPoint else { throw TorchError("BERT takes token ids (N, T) as integers, got \(ids.shape) \(ids.dtype)") }
        guard ids.shape[1] <= configuration.maxPositions else {
            throw TorchError("BERT takes at most \(configuration.maxPositions) tokens, got \(ids.shape[1])")
        }
        let (n, t, heads) = (ids.shape[0], ids.shape[1], configuration.heads)
        let keep = try ids.ne(Double(configuration.paddingId))
        let additive = try ((1 - keep.to(.float32)) * Double(-Float.greatestFiniteMagnitude))
            .reshaped([n, 1, 1, t]).expanded(to: [n, heads, t, t]).reshaped([n * heads, t, t])
        return (keep, additive)
    }

    /// Loads a Hugging Face `BertModel` state dict strictly by name. Files from transformers 4.31 and
    /// later omit the `embeddings.position_ids` buffer (always 0, 1, 2, …); it is filled in then.
    public func loadHuggingFace(_ state: [String: Tensor]) throws {
        var state = state
        if state["embeddings.position_ids"] == nil { state["embeddings.position_ids"] = embeddings.positionIds }
        try loadStateDict(state)
    }

    /// Sentence embeddings as sentence-transformers makes them for MiniLM: the mean of the last
    /// hidden states over real tokens, scaled to unit length. (N, hidden).
    ///
    /// Without hooks attached, the layers run on the real tokens only (`PackedTokens`): the same
    /// numbers up to float rounding, without the products on padding.
    public func sentenceEmbeddings(_ ids: Tensor) throws -> Tensor {
        let (keep, additive) = try paddingMasks(ids)
        let hidden: Tensor
        if attachedHookCount > 0 {
            let states = try self(ids)
            hidden = try states * keep.to(states.dtype).unsqueezed(dim: 2)
        } else {
            let layout = try PackedTokens(keep: keep, additiveMask: additive)
            var x = try layout.packed(embeddings(ids).flattened(from: 0, to: 1))
            for case let layer as BERTLayer in layerList.modules { x = try layer.run(packed: x, layout: layout) }
            hidden = try layout.padded(x)
        }
        let mean = try hidden.sum(dims: [1]) / keep.to(hidden.dtype).sum(dims: [1], keepDims: true).clamp(min: 1e-9)
        return try mean / mean.norm(dims: [1], keepDims: true).clamp(min: 1e-12)
    }
}

final class BERTEmbeddings: Module {
    let words: Embedding, positions: Embedding, types: Embedding, norm: LayerNorm
    let positionIds: Tensor

    init(_ c: BERT.Configuration, generator: Generator?) throws {
        words = try Embedding(c.vocabularySize, c.hiddenSize, generator: generator)
        positions = try Embedding(c.maxPositions, c.hiddenSize, generator: generator)
        types = try Embedding(c.typeVocabularySize, c.hiddenSize, generator: generator)
        norm = try LayerNorm([c.hiddenSize], eps: c.layerNormEpsilon)
        positionIds = try Tensor.arange(0, Double(c.maxPositions)).unsqueezed(dim: 0)
    }

    override var children: [(name: String, module: Module)] {
        [("word_embeddings", words), ("position_embeddings", positions), ("token_type_embeddings", types), ("LayerNorm", norm)]
    }

    override var localBuffers: [(name: String, tensor: Tensor)] { [("position_ids", positionIds)] }

    override func forward(_ ids: Tensor) throws -> Tensor {
        let length = ids.shape[1]
        let position = try positions(Tensor.arange(0, Double(length)).unsqueezed(dim: 0))
        let type = try types(Tensor.zeros([1, length], dtype: .int64))
        return try norm(words(ids) + position + type)
    }
}

final class BERTEncoder: Module {
    let layers: ModuleList
    init(_ layers: ModuleList) { self.layers = layers }
    override var children: [(name: String, module: Module)] { [("layer", layers)] }
    override func forward(_ x: Tensor) throws -> Tensor { throw TorchError("the encoder is run by BERT, not called") }
}

final class BERTPooler: Module {
    let dense: Linear
    init(_ hidden: Int, generator: Generator?) throws { dense = try Linear(hidden, hidden, generator: generator) }
    override var children: [(name: String, module: Module)] { [("dense", dense)] }
    /// tanh(W·h[CLS] + b), BERT's pooled output (unused by sentence embeddings).
    override func forward(_ hidden: Tensor) throws -> Tensor { try dense(hidden.select(dim: 1, index: 0)).tanh() }
}
