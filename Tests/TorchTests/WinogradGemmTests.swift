import Testing
import TestSupport
@testable import Torch

/// Winograd F(4×4, 3×3) over sgemm (CTorch/winograd_gemm.cpp), the plan's 3×3 kernels on CPUs
/// where oneDNN has no Winograd ones, forced here so it runs on any CPU with AVX2; float64
/// convolutions through libtorch are the reference.
@Suite("Winograd convolutions over sgemm")
struct WinogradGemmTests {
    struct Layer {
        let weight: Tensor, bias: Tensor?, scale: Tensor?, shift: Tensor?
        let residual: Int?, relu: Bool
    }

    /// Four 3×3 convolutions: batch norm and ReLU, a residual that is also the input (copied into
    /// the output), a residual from two ops back (summed in place when nothing else reads it), and
    /// a last one narrowing to 16 channels. Channel counts are multiples of 16, as the layout needs.
    /// Without `relu`, the ReLUs are left out.
    func layers(relu: Bool = true) throws -> [Layer] {
        let g = Generator(seed: 5)
        func weight(_ out: Int, _ inputs: Int) throws -> Tensor { try Tensor.randn([out, inputs, 3, 3], generator: g) * (1.0 / Double(3 * inputs).squareRoot()) }
        return [
            Layer(weight: try weight(32, 16), bias: try Tensor.randn([32], generator: g), scale: try Tensor.rand([32], generator: g) + 0.5,
                  shift: try Tensor.randn([32], generator: g) * 0.1, residual: nil, relu: relu),
            Layer(weight: try weight(32, 32), bias: nil, scale: nil, shift: nil, residual: 1, relu: relu),
            Layer(weight: try weight(32, 32), bias: try Tensor.randn([32], generator: g), scale: nil, shift: nil, residual: 1, relu: relu),
            Layer(weight: try weight(16, 32), bias: try Tensor.randn([16], generator: g), scale: nil, shift: nil, residual: nil, relu: false),
        ]
    }

    func plan(_ layers: [Layer], winograd: ConvolutionPlan.Winograd) throws -> ConvolutionPlan {
        let plan = try ConvolutionPlan()
        try plan.useWinograd(winograd)
        for (index, layer) in layers.enumerated() {
            // Batch norm with running mean 0 and variance 1 - eps: scale · conv + shift.
            let norm = try layer.scale.map { scale in
                ConvolutionPlan.BatchNormParameters(weight: scale, bias: try #require(layer.shift), runningMean: try Tensor.zeros(scale.shape),
                                                    runningVariance: try Tensor.ones(scale.shape) * (1 - 1e-5), eps: 1e-5)
            }
            try plan.addConvolution(input: index, weight: layer.weight, bias: layer.bias, batchNorm: norm, stride: 1, padding: 1,
                                    residual: layer.residual, relu: layer.relu)
        }
        return plan
    }

    /// The same network in float64 on libtorch's convolutions.
    func reference(_ layers: [Layer], _ x: Tensor) throws -> Tensor {
        var values = [x]
        for layer in layers {
            var y = try Functional.conv2d(values.last!, weight: layer.weight.to(.float64), bias: layer.bias?.to(.float64), padding: (1, 1))
            if let scale = layer.scale, let shift = layer.shift {
                y = try y * scale.to(.float64).reshaped([1, -1, 1, 1]) + shift.to(.float64).reshaped([1, -1, 1, 1])
            }
            if let residual = layer.residual { y = try y + values[residual] }
            values.append(layer.relu ? try y.relu() : y)
        }
        return values.last!
    }

    @Test("outputs and input gradients equal a float64 computation, on maps whose sides are not multiples of the 4×4 tiles")
    func matchesFloat64() throws {
        guard ConvolutionPlan.isAvailable, ConvolutionPlan.canUseGemmWinograd else { return }
        // 2·4·3 = 24 tiles: the path that shares the 36 products out; 8·12·12 = 1152: blocks of 128
        // tiles per thread (that path needs two blocks per thread: up to 4 threads here). The larger
        // one without ReLUs: with them, one of its 10⁶ pre-activations lay within Winograd's float32
        // rounding of zero and took the other side of the kink than float64, changing ~750 input
        // gradients (its 7×7×16 receptive field) by up to 1.6% of the largest.
        for (shape, relu) in [([2, 16, 13, 10], true), ([8, 16, 47, 45], false)] {
            let layers = try layers(relu: relu)
            let plan = try plan(layers, winograd: .gemm)
            let x = try Tensor.randn(shape, generator: Generator(seed: 6))
            let weights = try Tensor.randn([shape[0], 16, shape[2], shape[3]], generator: Generator(seed: 7))
            #expect(try plan.kernels(for: x, withGradients: true).allSatisfy { $0 == "gemm_wino_4x3:avx2 / backward gemm_wino_4x3:avx2" })
            let (output, gradient) = try withGrad {
                let input = try x.detached().requiringGrad()
                let y = try plan(input)
                return (try y.detached(), try Tensor.grad(of: (y * weights).sum(), wrt: input))
            }
            let (expected, expectedGradient) = try withGrad {
                let input = try x.to(.float64).requiringGrad()
                let y = try reference(layers, input)
                return (try y.detached(), try Tensor.grad(of: (y * weights.to(.float64)).sum(), wrt: input))
            }
            let inference = try noGrad { try plan(x) }
            // Winograd F(4×4, 3×3) in float32: its transforms scale values by up to 10 before the
            // products: errors of a few 1e-6 of the largest value (measured on the Xeon, blocks of 8 and 16 channels: at most 4e-6).
            #expect(try maxDifference(output, expected) < 2e-5 * expected.abs().max().item(), "\(shape)")
            #expect(try maxDifference(inference, expected) < 2e-5 * expected.abs().max().item(), "\(shape)")
            #expect(try maxDifference(gradient, expectedGradient) < 2e-5 * expectedGradient.abs().max().item(), "\(shape)")
        }
    }

    @Test("a plan told to use direct kernels uses no Winograd kernel, and both give the same values up to rounding")
    func directKernelsAgree() throws {
        guard ConvolutionPlan.isAvailable, ConvolutionPlan.canUseGemmWinograd else { return }
        let layers = try layers()
        let x = try Tensor.randn([3, 16, 20, 20], generator: Generator(seed: 8))
        let direct = try plan(layers, winograd: .off)
        #expect(try direct.kernels(for: x).allSatisfy { !$0.contains("wino") })
        let winograd = try noGrad { try plan(layers, winograd: .gemm)(x) }
        let plain = try noGrad { try direct(x) }
        #expect(try maxDifference(winograd, plain) < 2e-5 * plain.abs().max().item())
    }

    @Test("a channels-last input is read where it lies and gives the contiguous input's values")
    func channelsLastInput() throws {
        guard ConvolutionPlan.isAvailable else { return }
        let plan = try plan(layers(), winograd: .automatic)
        let x = try Tensor.randn([3, 16, 13, 10], generator: Generator(seed: 9))
        // A channels-last tensor seen as (N, C, H, W): what the local path's windows are.
        let channelsLast = try x.permuted([0, 2, 3, 1]).contiguous().permuted([0, 3, 1, 2])
        let (expected, actual) = try noGrad { (try plan(x), try plan(channelsLast)) }
        #expect(actual.shape == expected.shape)
        #expect(try maxDifference(actual, expected) == 0)
    }
}
