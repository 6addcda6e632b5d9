import Foundation
import Testing
import TestSupport
import ExplanationCore
@testable import Attribution
import NN
import Torch

/// The axioms the methods' papers prove, checked on small models.
@Suite("Attribution properties")
struct PropertyTests {
    func smoothModel(seed: UInt64) throws -> Sequential {
        let g = Generator(seed: seed)
        return Sequential([try Linear(5, 16, generator: g), Activation(.tanh), try Linear(16, 16, generator: g), Activation(.softplus), try Linear(16, 3, generator: g)])
    }

    @Test("Integrated Gradients is complete: the convergence delta shrinks as steps grow")
    func integratedGradientsCompleteness() throws {
        let model = try smoothModel(seed: 1)
        let x = try Tensor.randn([4, 5], dtype: .float32, generator: Generator(seed: 2)) * 2.0
        var previous = Double.infinity
        for steps in [2, 4, 8, 32] {
            let result = try IntegratedGradients(model).attribute(x, target: .index(1), baseline: .zeros, steps: steps, rule: .riemannMiddle)
            let delta = try result.convergenceDelta!.abs().max().item()
            #expect(delta < previous)
            previous = delta
        }
        // Gauss–Legendre with 32 nodes is exact to float32 rounding for this smooth path.
        let exact = try IntegratedGradients(model).attribute(x, target: .index(1), baseline: .zeros, steps: 32)
        #expect(try exact.convergenceDelta!.abs().max().item() < 1e-4)
    }

    @Test("Integrated Gradients does not depend on how examples share a call or how rows are batched (the path's product and gathered forms)")
    func integratedGradientsBatching() throws {
        let model = try smoothModel(seed: 7)
        // 20 examples take the gathered form; each alone, and 4 together, the product form.
        let x = try Tensor.randn([20, 5], generator: Generator(seed: 8))
        let baseline = Baseline.tensor(try Tensor.randn([5], generator: Generator(seed: 9)))
        let ig = IntegratedGradients(model)
        let together = try ig.attribute(x, target: .index(2), baseline: baseline, steps: 7, internalBatchSize: 13).values
        let alone = try Tensor.cat((0..<20).map { try ig.attribute(x.slice(dim: 0, start: $0, end: $0 + 1), target: .index(2), baseline: baseline, steps: 7).values })
        let fours = try Tensor.cat(stride(from: 0, to: 20, by: 4).map {
            try ig.attribute(x.slice(dim: 0, start: $0, end: $0 + 4), target: .index(2), baseline: baseline, steps: 7, internalBatchSize: 5).values
        })
        // Only float32 rounding differs (points formed differently, sums in another order): measured 1.7e-7 of the largest.
        #expect(try maxDifference(together, alone) < 1e-5 * together.abs().max().item())
        #expect(try maxDifference(fours, alone) < 1e-5 * together.abs().max().item())
    }

    @Test("Shapley value sampling is efficient: attributions sum to f(x) − f(baseline) for any number of orderings")
    func shapleyEfficiency() throws {
        let model = try smoothModel(seed: 3)
        let x = try Tensor.randn([3, 5], generator: Generator(seed: 4))
        let baseline = try Tensor.randn([5], generator: Generator(seed: 5))
        for samples in [1, 3] {
            let values = try ShapleyValueSampling(model, baseline: .tensor(baseline), samples: samples, seed: 6).attribute(x, target: .index(2)).values
            let fx = try noGrad { try model(x).select(dim: 1, index: 2) }
            let fb = try noGrad { try model(baseline.unsqueezed(dim: 0)).select(dim: 1, index: 2) }
            #expect(try (values.sum(dims: [1]) - (fx - fb)).abs().max().item() < 1e-5)
        }
    }

    @Test("on a linear model, IG, Shapley, occlusion and KernelSHAP all equal w · (x − baseline)")
    func linearity() throws {
        let layer = try Linear(4, 2, generator: Generator(seed: 7))
        let model = Sequential([layer])
        let x = try Tensor.randn([3, 4], generator: Generator(seed: 8))
        let baseline = try Tensor([0.5, -0.25, 1, 0] as [Float])
        let expected = try layer.weight[1].unsqueezed(dim: 0) * (x - baseline.unsqueezed(dim: 0))
        let methods: [AttributionMethod] = [
            { var m = IntegratedGradients(model); m.baseline = .tensor(baseline); m.steps = 5; return m }(),
            ShapleyValueSampling(model, baseline: .tensor(baseline), samples: 2),
            Occlusion(model, window: [1], baseline: .tensor(baseline)),
            { var m = FeatureAblation(model); m.baseline = .tensor(baseline); return m }(),
            KernelSHAP(model, baseline: .tensor(baseline), samples: 40, seed: 1),
        ]
        for method in methods {
            let values = try method.attribute(x, target: .index(1)).values
            #expect(try (values - expected).abs().max().item() < 1e-4, "\(method.name)")
        }
    }

    @Test("implementation invariance: two functionally equal networks get the same IG and gradients")
    func implementationInvariance() throws {
        // B computes A's function with every hidden unit split into two halves of its weight.
        let g = Generator(seed: 9)
        let first = try Linear(3, 4, generator: g), second = try Linear(4, 2, generator: g)
        let a = Sequential([first, ReLU(), second])
        let splitFirst = try Linear(3, 8), splitSecond = try Linear(8, 2)
        try noGrad {
            try splitFirst.weight.copyInPlace(from: Tensor.cat([first.weight, first.weight]))
            try splitFirst.bias!.copyInPlace(from: Tensor.cat([first.bias!, first.bias!]))
            try splitSecond.weight.copyInPlace(from: Tensor.cat([second.weight, second.weight], dim: 1) * 0.5)
            try splitSecond.bias!.copyInPlace(from: second.bias!)
        }
        let b = Sequential([splitFirst, ReLU(), splitSecond])
        let x = try Tensor.randn([5, 3], generator: Generator(seed: 10))
        #expect(try (noGrad { try a(x) - b(x) }).abs().max().item() < 1e-5)
        for (methodA, methodB) in [(IntegratedGradients(a) as AttributionMethod, IntegratedGradients(b) as AttributionMethod),
                                   (Saliency(a, absoluteValue: false), Saliency(b, absoluteValue: false))] {
            let difference = try (methodA.attribute(x, target: .index(0)).values - methodB.attribute(x, target: .index(0)).values).abs().max().item()
            #expect(difference < 1e-5, "\(methodA.name)")
        }
    }

    @Test("Gauss–Legendre nodes integrate polynomials of degree 2n − 1 exactly")
    func gaussLegendreExactness() throws {
        for n in [1, 2, 5, 20] {
            let (alphas, weights) = try IntegrationRule.gaussLegendre.nodes(n)
            #expect(abs(weights.reduce(0, +) - 1) < 1e-14)
            let degree = 2 * n - 1
            let integral = zip(alphas, weights).map { Foundation.pow($0, Double(degree)) * $1 }.reduce(0, +)
            #expect(abs(integral - 1 / Double(degree + 1)) < 1e-13)
        }
    }

    @Test("targets are per row in a batch, and .predicted explains the arg-max")
    func targetsPerRow() throws {
        let model = try smoothModel(seed: 11)
        let x = try Tensor.randn([3, 5], generator: Generator(seed: 12))
        let batch = try Saliency(model, absoluteValue: false).attribute(x, target: .indices([0, 2, 1])).values
        for (row, k) in [0, 2, 1].enumerated() {
            let single = try Saliency(model, absoluteValue: false).attribute(x[row..<(row + 1)], target: .index(k)).values
            #expect(try (batch[row] - single[0]).abs().max().item() < 1e-6)
        }
        let predicted: [Int] = try noGrad { try model(x).argmax(dim: 1) }.scalars(as: Int64.self).map { Int($0) }
        #expect(try (Saliency(model).attribute(x, target: .predicted).values - Saliency(model).attribute(x, target: .indices(predicted)).values).abs().max().item() == 0)
    }
}

@Suite("Attribution errors")
struct AttributionErrorTests {
    @Test("bad targets, hook points, masks and inputs give clear errors; hooks and ReLU rules are restored")
    func clearErrors() throws {
        let model = try ReferenceModel.mlp.model()
        let x = try Tensor.randn([2, 6])
        #expect(errorMessage { _ = try Saliency(model).attribute(x, target: .index(3)) }?.contains("target 3 is out of range: the model has 3 outputs") == true)
        #expect(errorMessage { _ = try Saliency(model).attribute(x, target: .indices([0])) }?.contains("1 targets given for a batch of 2") == true)
        #expect(errorMessage { _ = try LayerGradCAM(model, hookPoint: "7").attribute(x, target: .index(0)) }?.contains("no hook point '7'") == true)
        #expect(errorMessage { _ = try FeatureAblation(model, featureMask: Tensor([0, 0, 1] as [Int64])).attribute(x, target: .index(0)) }?
            .contains("feature mask has shape [3]") == true)
        #expect(errorMessage { _ = try Saliency(model).attribute(Tensor([Float.nan] + Array(repeating: 0, count: 11), shape: [2, 6]), target: .index(0)) }?
            .contains("NaN") == true)
        #expect(errorMessage { _ = try Occlusion(model, window: [7]).attribute(x, target: .index(0)) }?.contains("must fit inside [6]") == true)
        #expect(errorMessage { _ = try IntegratedGradients(model).attribute(x, target: .index(0), baseline: .tensor(Tensor.zeros([5]))) }?
            .contains("baseline shape [5] does not fit inputs of shape [2, 6]") == true)
        #expect(errorMessage { _ = try IntegratedGradients(model).attribute(x, target: .index(0), baseline: .value(.infinity)) }?
            .contains("NaN or infinite") == true)
        #expect(model.attachedHookCount == 0)
    }

    @Test("TorchScript models run gradient and perturbation methods; hook-based methods say why they cannot")
    func torchScriptModels() throws {
        let script = try ScriptModule(contentsOf: Fixture.path("cnn_traced.pt"))
        let native = try ReferenceModel.cnn.model()
        let x = ReferenceModel.cnn.input
        let target = ReferenceModel.cnn.target
        for (scripted, nativeMethod) in [(Saliency(script) as AttributionMethod, Saliency(native) as AttributionMethod),
                                         (FeatureAblation(script, featureMask: ReferenceModel.cnn.mask), FeatureAblation(native, featureMask: ReferenceModel.cnn.mask))] {
            #expect(try relativeDifference(scripted.attribute(x, target: target).values, nativeMethod.attribute(x, target: target).values) < 1e-5)
        }
        #expect(errorMessage { _ = try GuidedBackprop(script).attribute(x, target: target) }?.contains("needs a native Glassbox model") == true)
        #expect(errorMessage { _ = try LayerGradCAM(script, hookPoint: "3").attribute(x, target: target) }?.contains("needs a native Glassbox model") == true)
    }
}
