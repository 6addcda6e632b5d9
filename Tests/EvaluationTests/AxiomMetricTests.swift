import Testing
import TestSupport
import ExplanationCore
@testable import Attribution
@testable import Evaluation
import NN
import Torch

@Suite("Axiom metrics")
struct AxiomMetricTests {
    /// Two classes; class 1's weights are positive on features 0–3 and zero on 4–5.
    func model() throws -> Sequential {
        let layer = try Linear(6, 2)
        try noGrad {
            try layer.weight.copyInPlace(from: Tensor([0, 0, 0, 0, 0, 0, 1, 0.5, 2, 0.25, 0, 0] as [Float], shape: [2, 6]))
            try layer.bias!.fillInPlace(0)
        }
        return Sequential([layer])
    }

    @Test("completeness is 0 for Shapley sampling and IG on a linear model, not for the gradient")
    func completeness() throws {
        let m = try model()
        // Inputs in [2, 3]: Σ gradient = Σ w = 3.75 while f(x) − f(0) = w·x ≥ 7.5.
        let x = try Tensor.rand([3, 6], generator: Generator(seed: 1)) + 2.0
        let metric = Completeness()
        #expect(try metric.score(ShapleyValueSampling(m, samples: 2), inputs: x, target: .index(1)).max().item() < 1e-5)
        #expect(try metric.score(IntegratedGradients(m), inputs: x, target: .index(1)).max().item() < 1e-5)
        #expect(try metric.score(Saliency(m, absoluteValue: false), inputs: x, target: .index(1)).min().item() > 3)
    }

    @Test("non-sensitivity counts zero attributions on features that matter, and non-zero ones on features that do not")
    func nonSensitivity() throws {
        let m = try model()
        let x = try Tensor.rand([2, 6], generator: Generator(seed: 2)) + 0.5
        #expect(try NonSensitivity().score(InputXGradient(m), inputs: x, target: .index(1)).max().item() == 0)
        let uniform = try Tensor.ones([2, 6])
        #expect(try NonSensitivity().score(InputXGradient(m), inputs: x, target: .index(1), attributions: uniform).scalars(as: Double.self) == [2, 2])
    }

    @Test("monotonicity is 1 when every added feature raises the target probability")
    func monotonicity() throws {
        let m = try model()
        let x = try Tensor.rand([2, 6], generator: Generator(seed: 3)) + 0.5
        let score = try Monotonicity(steps: 6).score(IntegratedGradients(m), inputs: x, target: .index(1))
        #expect(try score.min().item() == 1)
    }
}

@Suite("Input invariance")
struct InputInvarianceTests {
    @Test("the gradient is input invariant; gradient × input and IG from a zero baseline are not; the bias is restored")
    func kindermans() throws {
        let g = Generator(seed: 8)
        let first = try Linear(5, 8, generator: g)
        let model = Sequential([first, ReLU(), try Linear(8, 3, generator: g)])
        let bias = try first.bias!.clone()
        let x = try Tensor.randn([4, 5], generator: g)
        let metric = InputInvariance(shift: 0.5)
        #expect(try metric.score(Saliency(model, absoluteValue: false), inputs: x, target: .index(2)).max().item() < 1e-5)
        #expect(try metric.score(InputXGradient(model), inputs: x, target: .index(2)).min().item() > 0.01)
        #expect(try metric.score(IntegratedGradients(model), inputs: x, target: .index(2)).min().item() > 0.01)
        #expect(try (first.bias! - bias).abs().max().item() == 0)
    }

    @Test("a padded first convolution is refused with the reason")
    func paddedConvolutionRefused() throws {
        let model = try Fixture.cnn()
        #expect(errorMessage { _ = try InputInvariance().score(Saliency(model), inputs: Fixture.values["input"]!, target: .index(0)) }?
            .contains("no padding") == true)
    }
}

@Suite("Ablation faithfulness")
struct AblationFaithfulnessTests {
    @Test("relevances that rank the probability drops get a high score; their negation a negative one")
    func ranksDrops() throws {
        let model = try Fixture.cnn()
        let x = Fixture.values["input"]!
        let patches = try (Tensor.arange(0, 28).floorDivide(7).unsqueezed(dim: 1) * 4.0 + Tensor.arange(0, 28).floorDivide(7).unsqueezed(dim: 0))
            .reshaped([1, 28, 28])
        let metric = AblationFaithfulness(featureMask: patches)
        // Occlusion with the same patches measures exactly the drops (in logits), so it correlates strongly.
        var occlusion = Occlusion(model, window: [1, 7, 7], strides: [1, 7, 7])
        occlusion.perturbationsPerEvaluation = 64
        let relevance = try occlusion.attribute(x, target: Fixture.target).values
        let good = try metric.score(Saliency(model), inputs: x, target: Fixture.target, attributions: relevance)
        let bad = try metric.score(Saliency(model), inputs: x, target: Fixture.target, attributions: -relevance)
        #expect(try good.min().item() > 0.5)
        #expect(try (good + bad).abs().max().item() < 1e-9)
    }
}

@Suite("Local Lipschitz by gradient ascent")
struct LipschitzAscentTests {
    @Test("ascent never reports less than sampling from the same points, and finds more on a smooth model")
    func ascentBeatsSampling() throws {
        let g = Generator(seed: 12)
        let model = Sequential([try Linear(4, 16, generator: g), Activation(.tanh), try Linear(16, 2, generator: g)])
        let x = try Tensor.randn([3, 4], generator: g)
        let metric = LocalLipschitz(samples: 4, radius: 0.2, seed: 5)
        let explain = LocalLipschitz.differentiableGradient(model, target: 1)
        let sampled = try metric.score(Saliency(model, absoluteValue: false), inputs: x, target: .index(1))
        let ascended = try metric.gradientAscent(explain, inputs: x, steps: 15)
        #expect(try (ascended - sampled).min().item() > -1e-6)
        #expect(try (ascended - sampled).max().item() > 1e-4)
    }
}
