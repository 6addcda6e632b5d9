import Testing
import TestSupport
import ExplanationCore
@testable import Attribution
@testable import Evaluation
import NN
import Torch

@Suite("Sanity checks")
struct SanityCheckTests {
    @Test("cascading randomisation walks the layers from the output, changes gradient maps, and restores the weights")
    func cascadingRandomization() throws {
        let model = try Fixture.cnn()
        let before = try model.stateDict().mapValues { try $0.clone() }
        let x = Fixture.values["input"]!
        #expect(ModelRandomization.layers(of: model) == ["10", "8", "3", "0"])
        let steps = try ModelRandomization(.cascading, seed: 1).run(Saliency(model, absoluteValue: false), inputs: x, target: Fixture.target)
        #expect(steps.map(\.randomizedLayers) == [[], ["10"], ["10", "8"], ["10", "8", "3"], ["10", "8", "3", "0"]])
        #expect(try (steps[0].similarity["spearman"]! - 1.0).abs().max().item() < 1e-12)
        // With every layer random the gradient no longer tracks the original map.
        #expect(try steps.last!.similarity["spearman"]!.mean().item() < 0.5)
        for (name, tensor) in model.stateDict() {
            #expect(try maxDifference(tensor, before[name]!) == 0, "\(name) was not restored")
        }
    }

    @Test("independent randomisation changes one layer at a time")
    func independentRandomization() throws {
        let model = try Fixture.cnn()
        let steps = try ModelRandomization(.independent).run(Saliency(model), inputs: Fixture.values["input"]!, target: Fixture.target)
        #expect(steps.dropFirst().map(\.randomizedLayers) == [["10"], ["8"], ["3"], ["0"]])
        #expect(steps[1].similarity["ssim"] != nil)
    }

    @Test("the Sobel baseline is zero on flat images and responds to an edge")
    func sobel() throws {
        #expect(try EdgeDetector.sobel(Tensor.ones([1, 1, 8, 8])).slice(dim: 2, start: 1, end: 7).slice(dim: 3, start: 1, end: 7).abs().max().item() == 0)
        let step = try Tensor.cat([Tensor.zeros([1, 1, 8, 4]), Tensor.ones([1, 1, 8, 4])], dim: 3)
        let edges = try EdgeDetector.sobel(step)
        #expect(try edges[0][0][4][3].item() == 4)
        #expect(try edges[0][0][4][1].item() == 0)
    }

    @Test("a TorchScript model is refused with the reason")
    func torchScriptRefused() throws {
        let forward = ForwardFunction { $0 }
        #expect(errorMessage { _ = try ModelRandomization().run(Saliency(forward), inputs: Tensor.zeros([1, 2]), target: .index(0)) }?
            .contains("needs a native Glassbox model") == true)
    }
}

@Suite("Canny")
struct CannyTests {
    @Test("a vertical step gives a thin vertical edge, a flat image none, and bad thresholds an error")
    func cannyEdges() throws {
        let step = try Tensor.cat([Tensor.zeros([1, 1, 16, 8]), Tensor.ones([1, 1, 16, 8])], dim: 3)
        let edges = try EdgeDetector.canny(step)
        let columns = try edges[0][0].sum(dims: [0]).scalars(as: Float.self)
        // The edge is one or two pixels wide, on the step, along (almost) every row.
        #expect(columns.enumerated().filter { $0.element > 0 }.allSatisfy { (6...9).contains($0.offset) })
        #expect(columns.reduce(0, +) >= 14)
        #expect(try EdgeDetector.canny(Tensor.ones([1, 1, 16, 16])).sum().item() == 0)
        #expect(errorMessage { _ = try EdgeDetector.canny(step, low: 0.5, high: 0.2) }?.contains("thresholds") == true)
    }
}
