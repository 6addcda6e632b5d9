import Foundation
import Testing
import TestSupport
@testable import AttentionStudies
import NN
import TextModels
import Torch

@Suite("Attention as explanation")
struct AttentionStudiesTests {
    static func fixture() throws -> [String: Any] {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("kendall.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
    }

    /// SciPy 1.17.1's kendalltau (tools/make_attention_fixtures.py): τ to 1e-12; p-values to 1e-9 of
    /// their size (exact sums of up to 33! terms in double precision; erfc for the approximation).
    @Test("Kendall τ-b and its p-value match SciPy, exact and approximate, with and without ties")
    func kendallMatchesSciPy() throws {
        let cases = try Self.fixture()["kendall"] as? [[String: Any]] ?? []
        #expect(cases.count == 14)
        for item in cases {
            let x = item["x"] as! [Double], y = item["y"] as! [Double]
            let result = try #require(KendallTau(x, y))
            let tau = item["tau"] as! Double, p = item["p"] as! Double
            #expect(Swift.abs(result.tau - tau) < 1e-12, "n = \(x.count)")
            #expect(Swift.abs(result.pValue - p) <= 1e-9 * Swift.max(p, 1e-300), "n = \(x.count): \(result.pValue) vs \(p)")
        }
        #expect(KendallTau([1, 1, 1], [1, 2, 3]) == nil && KendallTau([1], [2]) == nil)
    }

    @Test("Jensen–Shannon and total variation distances match SciPy, zeros included")
    func divergences() throws {
        for item in try Self.fixture()["divergences"] as? [[String: Any]] ?? [] {
            let p = item["p"] as! [Double], q = item["q"] as! [Double]
            let a = try Tensor(p, shape: [1, p.count]), b = try Tensor(q, shape: [1, q.count])
            #expect(Swift.abs(try Divergence.jensenShannon(a, b).item() - (item["jsd"] as! Double)) < 1e-12)
            #expect(Swift.abs(try Divergence.totalVariation(a, b).item() - (item["tvd"] as! Double)) < 1e-12)
        }
    }

    static func model() throws -> BiLSTMAttentionClassifier {
        var c = BiLSTMAttentionClassifier.Configuration(vocabularySize: 20, classes: 2)
        (c.embeddingSize, c.hiddenSize, c.attentionSize) = (6, 5, 4)
        let model = try BiLSTMAttentionClassifier(c, generator: Generator(seed: 3))
        model.eval()
        return model
    }

    @Test("the classifier's own attention reproduces its forward pass; given weights replace it")
    func attentionCanBeReplaced() throws {
        let model = try Self.model()
        let ids = try Tensor([4, 7, 2, 9, 0, 5, 5, 3, 1, 8] as [Int64], shape: [2, 5])
        let run = try model.run(ids)
        #expect(try maxDifference(run.logits, model(ids)) == 0)
        #expect(try run.weights[0][4].item() == 0)
        let uniform = try ids.ne(0).to(.float32) / ids.ne(0).to(.float32).sum(dims: [1], keepDims: true)
        let replaced = try model.run(ids, attentionWeights: uniform)
        #expect(try maxDifference(replaced.weights, uniform) == 0 && maxDifference(replaced.logits, run.logits) > 0)
    }

    @Test("importances are per text: a batch gives what each text gives alone; leave-one-out is the deleted token's TVD")
    func importancesArePerText() throws {
        let model = try Self.model()
        let ids = try Tensor([4, 7, 2, 9, 0, 5, 5, 3, 1, 8, 6, 0, 0, 0, 0] as [Int64], shape: [3, 5])
        let batch = try TokenImportance.measure(model, ids: ids)
        #expect(batch.map(\.attention.count) == [4, 5, 1])
        for row in 0..<3 {
            let alone = try TokenImportance.measure(model, ids: TokenBatchTrim.row(ids, row))[0]
            #expect(zip(alone.gradient, batch[row].gradient).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
            #expect(zip(alone.leaveOneOut, batch[row].leaveOneOut).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
        }
        let without = try Tensor([4, 2, 9, 0, 0] as [Int64], shape: [1, 5])
        let p = try noGrad { try model(ids.slice(dim: 0, start: 0, end: 1)).softmax(dim: 1) }, q = try noGrad { try model(without).softmax(dim: 1) }
        #expect(Swift.abs(batch[0].leaveOneOut[1] - (try Divergence.totalVariation(p, q).item())) < 1e-6)
        #expect(batch[2].leaveOneOut == [0] && batch[0].gradient.allSatisfy { $0 >= 0 })
        let records = try AttentionAgreement.measure(model, ids: ids)
        #expect(records[2].gradient == nil && records[0].gradient != nil)
    }

    @Test("permuting attention moves the output; a one-token text cannot move; the seed fixes the shuffles")
    func permutations() throws {
        let model = try Self.model()
        let ids = try Tensor([4, 7, 2, 9, 3, 6, 0, 0, 0, 0] as [Int64], shape: [2, 5])
        let first = try PermutedAttention.measure(model, ids: ids, permutations: 50, seed: 1)
        #expect(first[0].medianChange > 0 && first[1].medianChange == 0 && first[1].maxAttention == 1)
        let again = try PermutedAttention.measure(model, ids: ids, permutations: 50, seed: 1)
        #expect(first.map(\.medianChange) == again.map(\.medianChange))
    }

    @Test("uniform attention weighs every real token alike; configurations written before the option read as trained attention")
    func uniformAttention() throws {
        var c = BiLSTMAttentionClassifier.Configuration(vocabularySize: 20, classes: 2)
        (c.embeddingSize, c.hiddenSize, c.attentionSize, c.uniformAttention) = (6, 5, 4, true)
        let model = try BiLSTMAttentionClassifier(c, generator: Generator(seed: 3))
        model.eval()
        let ids = try Tensor([4, 7, 2, 9, 0, 5, 5, 3, 1, 8] as [Int64], shape: [2, 5])
        let weights = try noGrad { try model.attentionWeights(ids) }
        #expect(try weights.scalars(as: Float.self) == [0.25, 0.25, 0.25, 0.25, 0, 0.2, 0.2, 0.2, 0.2, 0.2])
        let old = #"{"vocabularySize":20,"embeddingSize":6,"hiddenSize":5,"attentionSize":4,"classes":2}"#
        let decoded = try JSONDecoder().decode(BiLSTMAttentionClassifier.Configuration.self, from: Data(old.utf8))
        #expect(!decoded.uniformAttention && decoded.hiddenSize == 5)
        let again = try JSONDecoder().decode(BiLSTMAttentionClassifier.Configuration.self, from: JSONEncoder().encode(c))
        #expect(again == c)
    }

    @Test("the token MLP pools with uniform weights, its own attention, or imposed weights used as given")
    func tokenMLP() throws {
        let ids = try Tensor([4, 7, 2, 9, 0, 5, 5, 3, 1, 8] as [Int64], shape: [2, 5])
        let imposed = try Tensor([1, 0, 0, 0, 0, 0, 0, 0, 0, 1] as [Float], shape: [2, 5])
        let uniform = try TokenMLPClassifier(vocabularySize: 20, classes: 2, attention: .uniform, generator: Generator(seed: 1))
        let given = try TokenMLPClassifier(vocabularySize: 20, classes: 2, attention: .imposed, generator: Generator(seed: 1))
        let own = try TokenMLPClassifier(vocabularySize: 20, classes: 2, attention: .own, generator: Generator(seed: 1))
        #expect(own.parameterCount > uniform.parameterCount && given.parameterCount == uniform.parameterCount)
        // Weight on the first token alone equals that token's text of length one under uniform pooling.
        let first = try noGrad { try given.run(ids, imposed: imposed) }.select(dim: 0, index: 0)
        let alone = try noGrad { try uniform.run(Tensor([4] as [Int64], shape: [1, 1]), imposed: nil) }.select(dim: 0, index: 0)
        #expect(try maxDifference(first, alone) < 1e-6)
        #expect(errorMessage { _ = try given(ids) }?.contains("imposed attention needs weights") == true)
    }

    @Test("adversarial attention: feasible candidates keep the output within the tolerance, move far from the original, leave the model's gradients alone, and repeat with the seed")
    func adversarialAttention() throws {
        let model = try Self.model()
        let ids = try Tensor([4, 7, 2, 9, 3, 6, 0, 0, 0, 0, 5, 1, 8, 0, 0] as [Int64], shape: [3, 5])
        var search = AdversarialAttention()
        (search.steps, search.batchSize) = (150, 2)
        let texts = try search.search(model, ids: ids, seed: 7)
        #expect(texts.map(\.length) == [5, 1, 3])
        for text in texts where text.feasible > 0 {
            #expect(text.outputChange! <= search.tolerance)
            #expect(Swift.abs(text.adversarial.reduce(0, +) - 1) < 1e-5 && text.adversarial.count == text.length)
        }
        // A one-token text has a single distribution: nothing to move.
        #expect(texts[1].maxDivergence < 1e-6)
        // The optimisation moves the candidates further than their random starting points (one step).
        var oneStep = search
        oneStep.steps = 1
        let start = try oneStep.search(model, ids: ids, seed: 7)
        #expect(texts[0].feasible > 0 && texts[0].maxDivergence > start[0].maxDivergence + 0.1)
        #expect(model.parameters.allSatisfy { $0.grad == nil })
        let again = try search.search(model, ids: ids, seed: 7)
        #expect(again.map(\.maxDivergence) == texts.map(\.maxDivergence))
    }
}

/// One row of padded ids, without its padding columns.
enum TokenBatchTrim {
    static func row(_ ids: Tensor, _ row: Int) throws -> Tensor {
        let one = try ids.slice(dim: 0, start: row, end: row + 1)
        return try one.slice(dim: 1, start: 0, end: Swift.max(1, try one.ne(0).to(.int64).sum().itemInt()))
    }
}
