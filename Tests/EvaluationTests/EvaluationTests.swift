import Foundation
import Testing
import TestSupport
import ExplanationCore
@testable import Attribution
@testable import Evaluation
import NN
import Torch

enum Fixture {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let values = try! Safetensors.read(folder.appendingPathComponent("evaluation.safetensors").path).tensors

    static func cnn() throws -> Sequential {
        let model = try Architectures.mnistCNN()
        try model.loadStateDict(Safetensors.read(folder.appendingPathComponent("cnn_weights.safetensors").path).tensors)
        model.eval()
        return model
    }

    static var target: Target { .indices(try! values["targets"]!.scalars(as: Int64.self).map { Int($0) }) }
}

/// Against the reference implementations (tools/make_evaluation_fixtures.py). Tolerances:
/// 1e-4 relative where model outputs enter (float32, summation order), 1e-9 for the pure
/// float64 statistics.
@Suite("Evaluation against references")
struct EvaluationReferenceTests {
    @Test("infidelity matches Captum, plain and normalised")
    func infidelityMatchesCaptum() throws {
        let model = try Fixture.cnn()
        for (normalize, key) in [(false, "infidelity"), (true, "infidelity_normalized")] {
            var metric = Infidelity(samples: 5, normalize: normalize)
            metric.perturbations = Fixture.values["infidelity_noise"]!
            let score = try metric.score(Saliency(model), inputs: Fixture.values["input"]!, target: Fixture.target,
                                         attributions: Fixture.values["ig"]!)
            #expect(try relativeDifference(score, Fixture.values[key]!) < 1e-4, "\(key)")
        }
    }

    @Test("max-sensitivity matches Captum's sensitivity_max")
    func sensitivityMatchesCaptum() throws {
        let model = try Fixture.cnn()
        var metric = Sensitivity(.max, samples: 5)
        metric.noise = Fixture.values["sensitivity_noise"]!
        let score = try metric.score(Saliency(model), inputs: Fixture.values["input"]!, target: Fixture.target)
        #expect(try relativeDifference(score, Fixture.values["max_sensitivity"]!) < 1e-4)
    }

    @Test("Spearman (with ties, signed and absolute), Pearson and SSIM match scipy and scikit-image")
    func similarityMatchesReferences() throws {
        let a = Fixture.values["map_a"]!, b = Fixture.values["map_b"]!
        #expect(try maxDifference(Similarity.spearman(a, b), Fixture.values["spearman"]!) < 1e-9)
        #expect(try maxDifference(Similarity.spearman(a, b, absolute: true), Fixture.values["spearman_abs"]!) < 1e-9)
        #expect(try maxDifference(Similarity.pearson(a, b), Fixture.values["pearson"]!) < 1e-9)
        #expect(try maxDifference(Similarity.ssim(a, b), Fixture.values["ssim"]!) < 1e-9)
    }

    @Test("sparseness and complexity match Quantus")
    func complexityMatchesQuantus() throws {
        let model = try Fixture.cnn()
        let ig = Fixture.values["ig"]!
        let x = Fixture.values["input"]!
        #expect(try relativeDifference(Sparseness().score(Saliency(model), inputs: x, target: Fixture.target, attributions: ig),
                                       Fixture.values["sparseness"]!) < 1e-6)
        #expect(try relativeDifference(Complexity().score(Saliency(model), inputs: x, target: Fixture.target, attributions: ig),
                                       Fixture.values["complexity"]!) < 1e-6)
    }
}

@Suite("Evaluation properties")
struct EvaluationPropertyTests {
    /// f(x) = w·x + b on 6 features, as a 2-class model.
    func linearModel() throws -> (Sequential, Linear) {
        let layer = try Linear(6, 2, generator: Generator(seed: 4))
        return (Sequential([layer]), layer)
    }

    @Test("Gini is (F−1)/F for one feature and 0 for a uniform map; entropy is 0 and log F")
    func giniAndEntropyExtremes() throws {
        let oneHot = try Tensor([0, 0, 5, 0] as [Float], shape: [1, 4])
        let uniform = try Tensor.ones([1, 4])
        #expect(try abs(Sparseness.gini(oneHot).item() - 0.75) < 1e-6)
        #expect(try abs(Sparseness.gini(uniform).item()) < 1e-9)
        #expect(try abs(Complexity.entropy(oneHot).item()) < 1e-9)
        #expect(try abs(Complexity.entropy(uniform).item() - Foundation.log(4)) < 1e-12)
    }

    @Test("on a linear model, gradient × (x − 0) is perfectly faithful and the gradient has zero infidelity and Lipschitz constant")
    func linearModelIsExplainedExactly() throws {
        let (model, _) = try linearModel()
        let x = try Tensor.randn([3, 6], generator: Generator(seed: 5))
        let faithfulness = try FaithfulnessCorrelation(runs: 20, subsetSize: 2).score(InputXGradient(model), inputs: x, target: .index(1))
        #expect(try (faithfulness - 1.0).abs().max().item() < 1e-5)
        var infidelity = Infidelity(samples: 8, standardDeviation: 0.1)
        infidelity.seed = 2
        #expect(try infidelity.score(Saliency(model, absoluteValue: false), inputs: x, target: .index(1)).abs().max().item() < 1e-9)
        #expect(try LocalLipschitz(samples: 5).score(Saliency(model, absoluteValue: false), inputs: x, target: .index(1)).max().item() < 1e-5)
        #expect(try Sensitivity(.average, samples: 5).score(Saliency(model, absoluteValue: false), inputs: x, target: .index(1)).max().item() < 1e-6)
    }

    @Test("deletion falls faster, and insertion rises faster, for a good ranking than for its reverse")
    func deletionAndInsertionRewardGoodRankings() throws {
        let model = try Fixture.cnn()
        let x = Fixture.values["input"]!
        let ig = Fixture.values["ig"]!
        for (mode, better) in [(DeletionInsertion.Mode.deletion, -1.0), (.insertion, 1.0)] {
            let metric = DeletionInsertion(mode, steps: 14, baseline: .zeros)
            let good = try metric.score(Saliency(model), inputs: x, target: Fixture.target, attributions: ig)
            let reversed = try metric.score(Saliency(model), inputs: x, target: Fixture.target, attributions: -ig)
            #expect(try ((good - reversed) * better).min().item() > 0, "\(mode)")
            let curve = try metric.curves(Saliency(model), inputs: x, target: Fixture.target, attributions: ig)
            #expect(curve.shape == [3, 15])
        }
    }

    @Test("similarity of a map with itself is 1 and with a shuffled copy is near 0")
    func similarityBounds() throws {
        let a = try Tensor.randn([2, 1, 16, 16], generator: Generator(seed: 6))
        #expect(try (Similarity.spearman(a, a) - 1.0).abs().max().item() < 1e-12)
        #expect(try (Similarity.ssim(a, a) - 1.0).abs().max().item() < 1e-9)
        let shuffled = try a.reshaped([2, -1]).indexSelect(dim: 1, index: Tensor.randperm(256, generator: Generator(seed: 7))).reshaped([2, 1, 16, 16])
        #expect(try Similarity.spearman(a, shuffled).abs().max().item() < 0.25)
        #expect(errorMessage { _ = try Similarity.pearson(a, Tensor.zeros([2, 3])) }?.contains("same shape") == true)
    }
}

@Suite("HOG")
struct HOGTests {
    @Test("HOG features match scikit-image's hog with its defaults")
    func matchesScikitImage() throws {
        let features = try HOG.features(Fixture.values["hog_images"]!)
        // 1e-7: scikit-image's histogram code rounds through single precision (measured 1.7e-8).
        #expect(try maxDifference(features, Fixture.values["hog_features"]!) < 1e-7)
    }

    @Test("HOG similarity of a map with itself is 1 and needs maps of at least 24 pixels")
    func similarity() throws {
        let a = try Tensor.rand([2, 1, 28, 28], generator: Generator(seed: 9))
        #expect(try (Similarity.hog(a, a) - 1.0).abs().max().item() < 1e-12)
        #expect(errorMessage { _ = try Similarity.hog(Tensor.zeros([1, 1, 12, 12]), Tensor.zeros([1, 1, 12, 12])) }?.contains("at least 3×3 cells") == true)
    }
}
