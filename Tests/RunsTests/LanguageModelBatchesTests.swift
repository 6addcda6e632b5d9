import Foundation
import Testing
import TestSupport
import NN
@testable import Runs
import TextModels
import Torch

@Suite("Language-model activations in batches")
struct LanguageModelBatchesTests {
    @Test("rows at every real token in reading order, as each text alone gives them, across length-sorted groups and a partial batch")
    func rowsMatchTextsRunAlone() throws {
        var configuration = TransformerLanguageModel.Configuration(vocabularySize: 50)
        (configuration.width, configuration.heads, configuration.mlpWidth, configuration.maxLength) = (16, 4, 64, 12)
        let model = try TransformerLanguageModel(configuration, generator: Generator(seed: 5))
        model.eval()
        let lm = LanguageModelFile(model: model, tokens: (0..<50).map(String.init), encode: { _ in [] })
        // 300 texts of 1…12 tokens (ids 1…49), padded with 0: two batches, the second partial.
        let generator = Generator(seed: 6)
        let lengths = try Tensor.randint(1, 13, shape: [300], generator: generator).scalars(as: Int64.self).map(Int.init)
        let drawn = try Tensor.randint(1, 50, shape: [300, 12], generator: generator).scalars(as: Int64.self)
        let texts = lengths.enumerated().map { text, length in Array(drawn[(text * 12)..<(text * 12 + length)]) }
        let ids = try Tensor(texts.flatMap { $0 + [Int64](repeating: 0, count: 12 - $0.count) }, shape: [300, 12])
        var rows: [Tensor] = [], tokens: [Tensor] = [], batches: [Int] = []
        try lm.forEachBatch(ofIDs: ids, at: ["blocks.0.hook_mlp_post", "blocks.0.hook_resid_mid"]) { index, count, activations, batchTokens in
            #expect(count == 2 && activations[1].shape[1] == 16)
            batches.append(index)
            rows.append(activations[0])
            tokens.append(batchTokens)
        }
        #expect(batches == [0, 1])
        #expect(try Tensor.cat(tokens).scalars(as: Int64.self) == texts.flatMap { $0 })
        // The causal model gives a text's tokens the same values whatever follows them.
        let alone = try Tensor.cat(texts.map { text in
            try noGrad { try model.runWithCache(Tensor(text, shape: [1, text.count]), names: { $0 == "blocks.0.hook_mlp_post" }) }
                .cache["blocks.0.hook_mlp_post"]!.squeezed(dim: 0)
        })
        // float32 sums of 16-64 terms in other groupings differ by a few 1e-7.
        #expect(try maxDifference(Tensor.cat(rows), alone) < 1e-5)
    }
}
