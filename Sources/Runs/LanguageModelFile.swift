import Datasets
import Foundation
import NN
import TextModels
import Torch

/// A language model written by `glassbox lm train`: the network and its tokens, reloaded from
/// the weights file's metadata.
public struct LanguageModelFile {
    public let model: TransformerLanguageModel
    /// Each token id's text.
    public let tokens: [String]
    public let encode: (String) -> [Int]

    /// Whether `path` holds a language model (reads the header only).
    public static func isLanguageModel(_ path: String) -> Bool {
        (try? Safetensors.readMetadata(path))?["glassbox.architecture"] == "language-model"
    }

    public static func load(_ path: String) throws -> LanguageModelFile {
        let (tensors, metadata) = try Safetensors.read(path)
        guard metadata["glassbox.architecture"] == "language-model", let configuration = metadata["glassbox.lm.configuration"],
              let vocabulary = metadata["glassbox.lm.vocabulary"] else {
            throw TorchError("\(path) is not a language model written by `glassbox lm train`")
        }
        let model = try TransformerLanguageModel(JSONDecoder().decode(TransformerLanguageModel.Configuration.self, from: Data(configuration.utf8)))
        try model.loadStateDict(tensors)
        model.eval()
        if vocabulary == "minilm-wordpiece" {
            let tokenizer = try WordPieceTokenizer.miniLM()
            return LanguageModelFile(model: model, tokens: tokenizer.vocabulary, encode: { tokenizer.encode($0) })
        }
        let words = try JSONDecoder().decode(WordVocabulary.self, from: Data(vocabulary.utf8))
        return LanguageModelFile(model: model, tokens: words.words, encode: words.encode)
    }

    /// The activations (positions, values) at each of `hookPoints` at every real token of
    /// `texts`, and those tokens' ids (positions).
    public func tokenActivations(_ texts: [String], at hookPoints: [String]) throws -> (activations: [Tensor], tokens: Tensor) {
        var collected = [[Tensor]](repeating: [], count: hookPoints.count), tokens: [Tensor] = []
        try forEachBatch(of: texts, at: hookPoints) { _, _, activations, ids in
            for (index, activation) in activations.enumerated() { collected[index].append(activation) }
            tokens.append(ids)
        }
        return (try collected.map { try Tensor.cat($0) }, try Tensor.cat(tokens))
    }

    /// Runs the texts in batches of 256 (those `include` accepts, by batch index) and hands each
    /// batch's activations at `hookPoints` at its real tokens, and those tokens, to `body`
    /// (batch index, batch count, activations, token ids).
    public func forEachBatch(of texts: [String], at hookPoints: [String], include: (Int) -> Bool = { _ in true },
                             _ body: (Int, Int, [Tensor], Tensor) throws -> Void) throws {
        let ids = try LanguageModelRun.sequences(texts, encode: encode, maxLength: model.configuration.maxLength)
        try forEachBatch(ofIDs: ids, at: hookPoints, include: include, body)
    }

    /// `forEachBatch(of:…)` on token ids (N, T; padding 0). The model runs only as far as the
    /// hook points, and each batch's texts run in groups of 64 of similar length, each group
    /// trimmed to its longest text (a batch of tweets is about half padding otherwise); the rows
    /// reach `body` in reading order all the same.
    public func forEachBatch(ofIDs ids: Tensor, at hookPoints: [String], include: (Int) -> Bool = { _ in true },
                             _ body: (Int, Int, [Tensor], Tensor) throws -> Void) throws {
        let starts = Array(stride(from: 0, to: ids.shape[0], by: 256))
        for (index, start) in starts.enumerated() where include(index) {
            let batch = try ids.slice(dim: 0, start: start, end: Swift.min(start + 256, ids.shape[0]))
            let lengths = try batch.ne(0).to(.int64).sum(dims: [1]).scalars(as: Int64.self).map(Int.init)
            let order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
            // Each group's activations flattened to (texts × its length, …) and stacked; text i's
            // token k sits at row firstRow[i] + k of the stack.
            var groups = [[Tensor]](repeating: [], count: hookPoints.count)
            var firstRow = [Int](repeating: 0, count: lengths.count), stacked = 0
            for groupStart in stride(from: 0, to: order.count, by: 64) {
                let members = Array(order[groupStart..<Swift.min(groupStart + 64, order.count)])
                let group = try TokenBatch.trimmed(batch.indexSelect(dim: 0, index: Tensor(members.map { Int64($0) }, shape: [members.count])))
                let activations = try noGrad { try model.activations(at: hookPoints, for: group) }
                for (point, activation) in activations.enumerated() {
                    groups[point].append(try activation.flattened(from: 0, to: 1))
                }
                for (slot, text) in members.enumerated() { firstRow[text] = stacked + slot * group.shape[1] }
                stacked += members.count * group.shape[1]
            }
            let reading = lengths.indices.flatMap { text in (firstRow[text]..<(firstRow[text] + lengths[text])).map { Int64($0) } }
            let rows = try Tensor(reading, shape: [reading.count])
            let activations = try groups.map { try Tensor.cat($0).indexSelect(dim: 0, index: rows) }
            try body(index, starts.count, activations, try realTokenRows(batch.unsqueezed(dim: 2), ids: batch).squeezed(dim: 1))
        }
    }
}

/// The rows of a per-token activation (N, T, …, d) at the real tokens of `ids` (N, T; padding
/// 0), as (real tokens, d), in reading order.
func realTokenRows(_ activation: Tensor, ids: Tensor) throws -> Tensor {
    let positions = try ids.flattened().ne(0).scalars(as: Bool.self).enumerated().filter(\.element).map { Int64($0.offset) }
    return try activation.flattened(from: 0, to: activation.rank - 2).indexSelect(dim: 0, index: Tensor(positions, shape: [positions.count]))
}
