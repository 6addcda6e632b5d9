import Testing
import TestSupport
@testable import NN
import Torch

@Suite("ResNet-18 on a oneDNN convolution plan")
struct ResNetPlanTests {
    /// Random weights and batch-norm statistics that are not the identity, so folding them is checked.
    func resNet(seed: UInt64) throws -> ResNet18 {
        let g = Generator(seed: seed)
        let model = try ResNet18(classes: 7, generator: g)
        try noGrad {
            for (_, module) in model.namedModules() {
                guard let norm = module as? BatchNorm else { continue }
                let channels = norm.weight.shape
                try norm.weight.copyInPlace(from: Tensor.rand(channels, generator: g) + 0.5)
                try norm.bias.copyInPlace(from: Tensor.randn(channels, generator: g) * 0.1)
                try norm.runningMean.copyInPlace(from: Tensor.randn(channels, generator: g) * 0.1)
                try norm.runningVar.copyInPlace(from: Tensor.rand(channels, generator: g) + 0.5)
            }
        }
        model.eval()
        return model
    }

    /// libtorch's own forward (gradients on, outside `GradientOrder.firstOrder`, keep the plan out of it).
    func libtorchLogits(_ model: ResNet18, _ x: Tensor) throws -> Tensor {
        try model(x).detached()
    }

    @Test("without gradients the plan gives libtorch's logits, at several batch sizes and image sizes")
    func planMatchesLibtorch() throws {
        guard ConvolutionPlan.isAvailable else { return }
        let model = try resNet(seed: 60)
        let g = Generator(seed: 61)
        for shape in [[3, 3, 64, 64], [1, 3, 57, 45], [3, 3, 64, 64]] {
            let x = try Tensor.randn(shape, generator: g)
            #expect(model.usesPlan(x) == false)
            let expected = try libtorchLogits(model, x)
            try noGrad { #expect(model.usesPlan(x)) }
            let planned = try noGrad { try model(x) }
            // Winograd's transforms and the folded batch norm change float rounding only: a few 1e-6 relative.
            #expect(try maxDifference(planned, expected) < 1e-4 * expected.abs().max().item())
        }
    }

    @Test("3×3 stride-1 convolutions run on Winograd kernels (oneDNN's, or over sgemm where there are enough tiles), the rest on direct ones")
    func winogradWhereItApplies() throws {
        guard ConvolutionPlan.isAvailable else { return }
        for withGradients in [false, true] {
            let kernels = try #require(try resNet(seed: 62).planKernels(for: Tensor.zeros([2, 3, 64, 64]), withGradients: withGradients))
            // conv1, max pool, then per block conv1, [downsample], conv2: 2 + 8·2 + 3 = 21 ops.
            #expect(kernels.count == 21)
            let oneDNN = kernels.filter { $0.contains("wino") && !$0.contains("gemm_wino") }.count
            let gemm = kernels.filter { $0.contains("gemm_wino") }.count
            // Tiles of 4×4 outputs at 2×64²: layer1's four 3×3 stride-1 convolutions 2·16, the other
            // nine (8×8 maps and smaller) at most 2·4. oneDNN 2.6 has Winograd kernels for AVX-512
            // only; there, runs that keep activations take Winograd over sgemm on at most 16 tiles.
            // Elsewhere (AVX2) Winograd over sgemm takes the convolutions with at least 16 tiles.
            let expected = ConvolutionPlan.winogradDescription.hasPrefix("oneDNN's")
                ? (withGradients && ConvolutionPlan.canUseGemmWinograd ? (4, 9) : (13, 0))
                : (0, ConvolutionPlan.canUseGemmWinograd ? 4 : 0)
            #expect(ConvolutionPlan.defaultWinograd != .automatic || (oneDNN == expected.0 && gemm == expected.1), "\(kernels)")
        }
    }

    @Test("first-order input gradients through the plan equal libtorch's, from the image and from the affine split's stem")
    func planGradientsMatchLibtorch() throws {
        guard ConvolutionPlan.isAvailable else { return }
        let model = try resNet(seed: 67)
        let split = try #require(model.affineSplit)
        let g = Generator(seed: 68)
        let image = try Tensor.randn([3, 3, 48, 40], generator: g)
        let stem = try noGrad { try split.front(image) }
        let weights = try Tensor.randn([3, 7], generator: g)
        for (function, input) in [(model.forward, image), (split.rest, stem)] {
            func gradient() throws -> Tensor {
                let x = try input.detached().requiringGrad()
                return try Tensor.grad(of: (function(x) * weights).sum(), wrt: x)
            }
            let expected = try gradient()
            let planned = try GradientOrder.firstOrder {
                #expect(model.usesPlan(input))
                return try gradient()
            }
            #expect(planned.shape == input.shape)
            #expect(try maxDifference(planned, expected) < 1e-4 * expected.abs().max().item())
        }
    }

    @Test("the same input gives bit-identical logits and gradients on every run")
    func planIsDeterministic() throws {
        guard ConvolutionPlan.isAvailable else { return }
        let model = try resNet(seed: 71)
        let x = try Tensor.randn([4, 3, 64, 64], generator: Generator(seed: 72))
        func run() throws -> (Tensor, Tensor) {
            let input = try x.detached().requiringGrad()
            return try GradientOrder.firstOrder {
                let logits = try model(input)
                return (try logits.detached(), try Tensor.grad(of: logits.select(dim: 1, index: 3).sum(), wrt: input))
            }
        }
        let (logits, gradient) = try run()
        for _ in 0..<3 {
            let (again, againGradient) = try run()
            #expect(try maxDifference(again, logits) == 0)
            #expect(try maxDifference(againGradient, gradient) == 0)
        }
        // Inference may pick another Winograd schedule than a run that keeps activations: rounding only.
        #expect(try maxDifference(noGrad { try model(x) }, logits) < 1e-4 * logits.abs().max().item())
    }

    @Test("a plan's output with no gradient path back is fine, and the graph can be dropped without a backward pass")
    func planGraphWithoutBackward() throws {
        guard ConvolutionPlan.isAvailable else { return }
        let model = try resNet(seed: 69)
        let x = try Tensor.randn([1, 3, 32, 32], generator: Generator(seed: 70)).requiringGrad()
        try GradientOrder.firstOrder {
            _ = try model(x)
            let y = try model(x).select(dim: 1, index: 0).sum()
            // Gradient of the first logit only: the other columns get no gradient at all.
            #expect(try Tensor.grad(of: y, wrt: x).abs().sum().item() > 0)
        }
    }

    @Test("weights changed in place (an optimizer step, loadStateDict) reach the plan")
    func planFollowsWeightChanges() throws {
        guard ConvolutionPlan.isAvailable else { return }
        let model = try resNet(seed: 63)
        let x = try Tensor.randn([2, 3, 48, 48], generator: Generator(seed: 64))
        let before = try noGrad { try model(x) }
        try noGrad {
            try model.conv1.weight.copyInPlace(from: model.conv1.weight * 1.5)
            try model.stages[2].layers.compactMap { $0 as? BasicBlock }[0].bn2.runningMean.copyInPlace(from: Tensor.ones([256]))
        }
        let after = try noGrad { try model(x) }
        let expected = try libtorchLogits(model, x)
        #expect(try maxDifference(after, before) > 1e-2 * expected.abs().max().item())
        #expect(try maxDifference(after, expected) < 1e-4 * expected.abs().max().item())
    }

    @Test("training mode, hooks and gradients bypass the plan")
    func planOnlyForPlainInference() throws {
        let model = try resNet(seed: 65)
        let x = try Tensor.zeros([1, 3, 32, 32])
        try noGrad {
            #expect(model.usesPlan(x) == ConvolutionPlan.isAvailable)
            try model.withHooks([("layer2.0.conv1", { _, _ in nil })]) { #expect(!model.usesPlan(x)) }
            model.train()
            #expect(!model.usesPlan(x))
        }
    }

    @Test("an image with the wrong number of channels is a clear error")
    func wrongChannelsIsAnError() throws {
        let model = try resNet(seed: 66)
        let message = errorMessage { _ = try noGrad { try model(Tensor.zeros([1, 1, 32, 32])) } }
        #expect(message?.contains("channels") == true || message?.contains("expected input") == true, "\(message ?? "no error")")
    }
}
