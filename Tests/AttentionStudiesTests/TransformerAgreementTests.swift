import Foundation
import Testing
import TestSupport
@testable import AttentionStudies
import NN
import TextModels
import Torch

/// The transformer agreement study's per-token scores against float64 PyTorch and Captum 0.7.0 on a
/// tiny random BERT with a linear probe (tools/make_attention_fixtures.py). Our side runs in
/// float32: attention and leave-one-out to 1e-5 (probabilities and weights in [0, 1]); gradient ×
/// input and Integrated Gradients to 1e-4 of the largest score (products through two layers with
/// weights four times BERT's initialisation, summed over 32 dimensions).
@Suite("Attention agreement on transformers")
struct TransformerAgreementTests {
    static func probe() throws -> (TransformerAttentionAgreement.Subject, [String: Tensor]) {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tiny_probe.safetensors")
        let tensors = try Safetensors.read(url.path).tensors
        var configuration = BERT.Configuration()
        (configuration.vocabularySize, configuration.hiddenSize, configuration.layers, configuration.heads) = (99, 32, 2, 4)
        (configuration.intermediateSize, configuration.maxPositions) = (48, 40)
        let encoder = try BERT(configuration)
        try encoder.loadHuggingFace(tensors.filter { !$0.key.hasPrefix("test.") && !$0.key.hasPrefix("probe.") })
        let model = try SentenceProbeClassifier(encoder: encoder, weights: tensors["probe.weights"]!, bias: tensors["probe.bias"]!)
        return (.init(model: model, embeddingHookPoint: "bert.embeddings.word_embeddings", patternHookPoints: model.patternHookPoints,
                      unknownId: 1, specialTokens: true), tensors)
    }

    /// Row-major values of `reference` at each text's first `lengths[row]` positions of its last dimension.
    static func rows(_ reference: Tensor, lengths: [Int]) throws -> [[Double]] {
        let width = reference.shape.last!, values = try reference.to(.float64).scalars(as: Double.self)
        return lengths.enumerated().map { row, length in Array(values[(row * width)..<(row * width + length)]) }
    }

    static func largestDifference(_ a: [[Double]], _ b: [[Double]]) -> Double {
        zip(a, b).flatMap { zip($0, $1).map { Swift.abs($0 - $1) } }.max() ?? .infinity
    }

    @Test("attention received, head means, rollout, gradient × input, Integrated Gradients and leave-one-out match PyTorch and Captum")
    func scoresMatchReferences() throws {
        let (subject, reference) = try Self.probe()
        let ids = reference["test.ids"]!
        let scores = try BatchScores(subject, ids: ids, steps: 16)
        #expect(scores.predicted == (try reference["test.predicted"]!.scalars(as: Int64.self).map { Int($0) }))
        #expect(scores.lengths == [9, 5, 6] && scores.layers == 2 && scores.heads == 4)
        let t = ids.shape[1]
        #expect(try maxDifference(Tensor(scores.received, shape: [3, 2, 4, t]), reference["test.received"]!) < 1e-5)
        #expect(try maxDifference(Tensor(scores.layerMeans, shape: [3, 2, t]), reference["test.layer_means"]!) < 1e-5)
        #expect(try maxDifference(Tensor(scores.rollout, shape: [3, t]), reference["test.rollout"]!) < 1e-5)
        for (ours, name) in [(scores.gradient, "test.gradient"), (scores.integrated, "test.integrated")] {
            let expected = try Self.rows(reference[name]!, lengths: scores.lengths)
            let scale = expected.flatMap { $0 }.map(Swift.abs).max()!
            #expect(scale > 1e-3, "\(name) too small to test")
            #expect(Self.largestDifference(ours, expected) < 1e-4 * scale, "\(name)")
        }
        #expect(Self.largestDifference(scores.leaveOneOut, try Self.rows(reference["test.leave_one_out"]!, lengths: scores.lengths)) < 1e-5)
        // The sources: every head, each layer's mean, rollout; a text's weights cover its real tokens.
        let sources = scores.attention(1)
        #expect(sources.count == 2 * 4 + 2 + 1 && sources.last?.0 == .rollout && sources.allSatisfy { $0.1.count == 5 })
    }

    @Test("the study ranks content tokens only and summarises every source against each measure")
    func summaries() throws {
        let (subject, reference) = try Self.probe()
        let texts = try reference["test.ids"]!.scalars(as: Int64.self).chunked(9).map { $0.filter { $0 != 0 }.map { Int($0) } }
        var reported: [Int] = []
        let result = try TransformerAttentionAgreement.measure(subject, texts: texts, steps: 4, batchSize: 2) { done, _ in reported.append(done) }
        #expect(reported.last == 3)
        #expect(result.sources.count == 11 && result.texts == 3 && result.predictedCounts.reduce(0, +) == 3)
        // Texts of 9, 5 and 6 tokens rank 7, 3 and 4 content tokens; the repeated token 4 ties but still gives a τ.
        #expect(result.sources.allSatisfy { $0.leaveOneOut.summary.texts == 3 && $0.leaveOneOut.histogram.reduce(0, +) == 3 })
        #expect(result.gradientVsLeaveOneOut.byClass.map(\.texts).reduce(0, +) == 3)
        #expect(throws: TorchError.self) { try TransformerAttentionAgreement.measure(subject, texts: [], steps: 4) }
    }
}

@Suite("Permuted attention on transformers")
struct TransformerPermutationTests {
    @Test("shuffled patterns move the output of a random BERT; one token cannot move; the seed fixes the shuffles")
    func permutation() throws {
        let (subject, reference) = try TransformerAgreementTests.probe()
        let texts = try reference["test.ids"]!.scalars(as: Int64.self).chunked(9).map { $0.filter { $0 != 0 }.map { Int($0) } } + [[2]]
        let first = try TransformerPermutedAttention.measure(subject, texts: texts, permutations: 30, seed: 4)
        let again = try TransformerPermutedAttention.measure(subject, texts: texts, permutations: 30, seed: 4)
        #expect(first.map(\.medianChange) == again.map(\.medianChange))
        #expect(first.prefix(3).allSatisfy { $0.medianChange > 1e-4 && $0.maxAttention > 0 && $0.maxAttention <= 1 })
        #expect(first[3].medianChange < 1e-6 && first.map(\.length) == [9, 5, 6, 1])
        #expect(throws: TorchError.self) { try TransformerPermutedAttention.measure(subject, texts: texts, permutations: 0, seed: 4) }
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] { stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) } }
}
