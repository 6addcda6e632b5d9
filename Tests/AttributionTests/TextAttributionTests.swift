import Testing
import TestSupport
import ExplanationCore
@testable import Attribution
import NN
import TextModels
import Torch

/// Captum 0.7.0's LayerIntegratedGradients at the embedding of a small BiLSTM-attention classifier
/// (tools/make_sequence_fixtures.py; the same weights in Glassbox's TextModels class). Float32 and
/// the same 20-point Gauss–Legendre rule on both sides: 1e-5 of the largest attribution.
@Suite("Token attributions against Captum")
struct TextAttributionTests {
    @Test("layer Integrated Gradients at a text model's embedding, [UNK] baselines, padded batch")
    func layerIntegratedGradientsOnText() throws {
        let f = try Safetensors.read(Fixture.path("text_attribution.safetensors")).tensors
        var configuration = BiLSTMAttentionClassifier.Configuration(vocabularySize: 30, classes: 2)
        (configuration.embeddingSize, configuration.hiddenSize, configuration.attentionSize) = (8, 6, 5)
        let model = try BiLSTMAttentionClassifier(configuration)
        try model.loadStateDict(Dictionary(uniqueKeysWithValues: f.filter { $0.key.hasPrefix("text.") && !["text.ids", "text.attributions", "text.delta"].contains($0.key) }
            .map { (String($0.key.dropFirst(5)), $0.value) }))
        model.eval()
        let ids = f["text.ids"]!
        var method = LayerIntegratedGradients(model, hookPoint: "embedding")
        method.steps = 20
        method.baseline = .tensor(try ids.ne(0).to(.int64))
        let result = try method.attribute(ids, target: .indices([1, 0]))
        #expect(try relativeDifference(result.values, f["text.attributions"]!) < 1e-5)
        #expect(try result.convergenceDelta!.abs().max().item() < 1e-4)
    }
}
