import Foundation
import Testing
import TestSupport
import ExplanationCore
import Attribution
import NN
import Torch

/// The call shape admits sequence models: token-id inputs for layer methods at an embedding, and
/// targets at a position of (N, positions, classes) outputs.
@Suite("Sequence models: token inputs and positional targets")
struct SequenceCallShapeTests {
    /// Token ids (N, 5) → embeddings (N, 5, 4) → per-position logits (N, 5, 3): position t depends only on token t.
    func tokenModel() throws -> (Sequential, Linear) {
        let g = Generator(seed: 60)
        let head = try Linear(4, 3, generator: g)
        let model = Sequential([try Embedding(10, 4, generator: g), head])
        model.eval()
        return (model, head)
    }

    @Test("layer integrated gradients at the embedding takes token ids and explains one position's class exactly")
    func layerIntegratedGradientsOnTokens() throws {
        let (model, head) = try tokenModel()
        let tokens = try Tensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3] as [Int64], shape: [2, 5])
        var method = LayerIntegratedGradients(model, hookPoint: "0")
        method.steps = 8
        let result = try method.attribute(tokens, target: .atPosition(2, .index(1)))
        // The model is linear in the embedding: attributions are (e(x) − e(pad 0)) ⊙ W₁ at position 2, zero elsewhere.
        let embeddings = try noGrad { try model.runWithCache(tokens).cache["0"]! }
        let padding = try noGrad { try model.runWithCache(tokens.zerosLike()).cache["0"]! }
        let row = try head.weight[1].reshaped([1, 1, 4])
        let mask = try Tensor([0, 0, 1, 0, 0] as [Float], shape: [1, 5, 1])
        let expected = try (embeddings - padding) * row * mask
        #expect(try maxDifference(result.values, expected) < 1e-5)
        #expect(try result.convergenceDelta!.abs().max().item() < 1e-5)
    }

    @Test("a position target picks each example's class there; negative positions count from the end, one position per example works too")
    func positionTargetsResolve() throws {
        let outputs = try Tensor((0..<24).map { Float($0 % 7) }, shape: [2, 4, 3])
        // Flat index = position × classes + class.
        #expect(try Target.atPosition(1, .index(2)).resolve(outputs: outputs).scalars(as: Int64.self) == [5, 5])
        #expect(try Target.atPosition(-1, .index(0)).resolve(outputs: outputs).scalars(as: Int64.self) == [9, 9])
        #expect(try Target.atPositions([0, 3], .indices([1, 2])).resolve(outputs: outputs).scalars(as: Int64.self) == [1, 11])
        let predicted = try Target.atPosition(2, .predicted).resolve(outputs: outputs).scalars(as: Int64.self)
        let expected = try outputs.select(dim: 1, index: 2).argmax(dim: 1).scalars(as: Int64.self).map { $0 + 6 }
        #expect(predicted == expected)
        #expect(throws: TorchError.self) { try Target.atPosition(4, .index(0)).resolve(outputs: outputs) }
        #expect(throws: TorchError.self) { try Target.atPosition(0, .index(3)).resolve(outputs: outputs) }
        #expect(throws: TorchError.self) { try Target.predicted.resolve(outputs: outputs) }
        #expect(throws: TorchError.self) { try Target.atPosition(0, .index(0)).resolve(outputs: outputs.select(dim: 1, index: 0)) }
    }

    @Test("gradient methods explain a position of a float sequence model; methods that move inputs refuse token ids and name the alternative")
    func floatSequencesAndTokenRefusal() throws {
        let g = Generator(seed: 61)
        let head = try Linear(4, 3, generator: g)
        let model = Sequential([head])
        let x = try Tensor.randn([2, 5, 4], generator: g)
        let gradient = try Saliency(model, absoluteValue: false).attribute(x, target: .atPosition(-1, .index(2))).values
        let expected = try head.weight[2].reshaped([1, 1, 4]) * Tensor([0, 0, 0, 0, 1] as [Float], shape: [1, 5, 1])
        #expect(try maxDifference(gradient, expected.expanded(to: [2, 5, 4])) < 1e-6)

        let (tokenModel, _) = try tokenModel()
        let tokens = try Tensor([1, 2, 3, 4, 5] as [Int64], shape: [1, 5])
        do {
            _ = try IntegratedGradients(tokenModel).attribute(tokens, target: .atPosition(0, .index(0)))
            Issue.record("integrated gradients accepted token ids")
        } catch let error as TorchError {
            #expect(error.message.contains("must be floating point") && error.message.contains("layer-integrated-gradients"))
        }
        let activation = try LayerActivation(tokenModel, hookPoint: "0").attribute(tokens, target: .atPosition(0, .index(0)))
        #expect(activation.values.shape == [1, 5, 4])
    }
}
