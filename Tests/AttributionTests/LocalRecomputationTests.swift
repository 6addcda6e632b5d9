import Testing
import TestSupport
import ExplanationCore
@testable import Attribution
import NN
import Torch

/// Perturbation methods with small rectangular masks recompute only what each mask reaches; a
/// `ForwardFunction` wrapper hides the module, so it takes the whole-batch path through the same
/// weights.
@Suite("Occlusion and ablation recomputing only what a patch reaches")
struct LocalRecomputationTests {
    func resNet() throws -> ResNet18 {
        let model = try ResNet18(classes: 5, generator: Generator(seed: 70))
        model.eval()
        return model
    }

    @Test("occlusion on a ResNet-18 equals the whole-batch computation, with one-channel windows, windows at the borders and a non-zero baseline")
    func occlusionMatches() throws {
        let model = try resNet()
        let x = try Tensor.rand([2, 3, 64, 56], generator: Generator(seed: 71))
        var local = Occlusion(model, window: [1, 12, 12], strides: [1, 10, 11], baseline: .value(0.5))
        local.perturbationsPerEvaluation = 8
        var whole = Occlusion(ForwardFunction { try model($0) }, window: [1, 12, 12], strides: [1, 10, 11], baseline: .value(0.5))
        whole.perturbationsPerEvaluation = 8
        let expected = try whole.attribute(x, target: .indices([1, 4])).values
        let result = try local.attribute(x, target: .indices([1, 4])).values
        // Both run the oneDNN plan for the whole-map part; the local stem and first blocks run
        // direct convolutions on windows, so the logits differ by rounding (~1e-6 relative);
        // occlusion's drops are differences of logits, hence the looser bound.
        #expect(try maxDifference(result, expected) < 1e-3 * expected.abs().max().item())
        #expect(try expected.abs().max().item() > 0)
    }

    @Test("feature ablation of image patches through a CNN equals the whole-batch computation")
    func patchAblationMatches() throws {
        let model = try Architectures.mnistCNN(generator: Generator(seed: 72))
        model.eval()
        let x = try Tensor.rand([3, 1, 28, 28], generator: Generator(seed: 73))
        // 7×7 patches of 4×4 pixels, numbered row by row.
        let rows = try Tensor.arange(0, 28).floorDivide(4).reshaped([28, 1])
        let patches = try (rows * 7 + Tensor.arange(0, 28).floorDivide(4).reshaped([1, 28])).reshaped([1, 28, 28])
        let expected = try FeatureAblation(ForwardFunction { try model($0) }, featureMask: patches).attribute(x, target: .indices([0, 3, 9])).values
        let result = try FeatureAblation(model, featureMask: patches).attribute(x, target: .indices([0, 3, 9])).values
        #expect(try maxDifference(result, expected) < 1e-4 * expected.abs().max().item())
        #expect(try expected.abs().max().item() > 0)
    }
}
