import Foundation
import Testing
import TestSupport
import ExplanationCore
@testable import Attribution
import NN
import Torch

/// The affine-front shortcuts must give what the plain computation gives: a `ForwardFunction`
/// wrapper hides the module, so it takes the plain path through the same weights.
@Suite("Attribution through the affine front")
struct AffineSplitAttributionTests {
    func models() throws -> [Module] {
        let g = Generator(seed: 60)
        let resNet = try ResNet18(classes: 4, generator: g)
        let sequential = Sequential([try Conv2d(3, 6, kernelSize: 5, padding: 2, generator: g), try BatchNorm.twoDimensional(6), ReLU(),
                                     MaxPool2d(2), Flatten(), try Linear(6 * 16 * 16, 4, generator: g)])
        for model in [resNet, sequential] as [Module] { model.eval() }
        return [resNet, sequential]
    }

    @Test("Integrated Gradients through the affine front equals the plain path integral, also when chunks split the steps")
    func integratedGradientsMatch() throws {
        for model in try models() {
            #expect(model.affineSplit != nil)
            let x = try Tensor.rand([3, 3, 32, 32], generator: Generator(seed: 61))
            var fast = IntegratedGradients(model)
            fast.steps = 7
            fast.internalBatchSize = 5
            var plain = IntegratedGradients(ForwardFunction { try model($0) })
            plain.steps = 7
            let expected = try plain.attribute(x, target: .indices([0, 1, 3]))
            let result = try fast.attribute(x, target: .indices([0, 1, 3]))
            #expect(try maxDifference(result.values, expected.values) < 1e-4 * expected.values.abs().max().item())
            #expect(try maxDifference(result.convergenceDelta!, expected.convergenceDelta!) < 1e-4)
        }
    }

    @Test("SmoothGrad of the plain gradient through the affine front equals averaging the noisy copies' input gradients")
    func smoothGradMatches() throws {
        for model in try models() {
            let x = try Tensor.rand([2, 3, 32, 32], generator: Generator(seed: 62))
            var fast = NoiseTunnel(Saliency(model, absoluteValue: false), samples: 6, standardDeviation: 0.2, seed: 3)
            fast.samplesPerBatch = 4
            let plain = NoiseTunnel(Saliency(ForwardFunction { try model($0) }, absoluteValue: false), samples: 6, standardDeviation: 0.2, seed: 3)
            let expected = try plain.attribute(x, target: .index(2)).values
            let result = try fast.attribute(x, target: .index(2)).values
            #expect(try maxDifference(result, expected) < 1e-4 * expected.abs().max().item())
        }
    }

    @Test("KernelSHAP evaluates a repeated coalition once and still fits every draw")
    func repeatedCoalitionsEvaluatedOnce() throws {
        let layer = try Linear(4, 2, generator: Generator(seed: 63))
        final class Counter: @unchecked Sendable { var rows = 0 }
        let counter = Counter()
        let counting = ForwardFunction { x in counter.rows += x.shape[0]; return try layer(x) }
        let x = try Tensor.randn([2, 4], generator: Generator(seed: 64))
        var shap = KernelSHAP(counting)
        shap.coalitions = try Tensor([1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0] as [Float],
                                     shape: [9, 4])
        let values = try shap.attribute(x, target: .index(1)).values
        // 7 distinct coalitions for 2 inputs, plus one row that checks the target's range.
        #expect(counter.rows == 7 * 2 + 1)
        // The model is linear, so the fit over all 9 draws recovers w · x (zero baseline) exactly.
        let expected = try layer.weight[1].unsqueezed(dim: 0) * x
        #expect(try maxDifference(values, expected) < 1e-4)
    }
}
