import Testing
import TestSupport
@testable import Torch

/// Convolutions over 1 to 3 input channels whose input gradient is wanted take the shim's own
/// backward (CTorch/small_input_convolution.cpp); float64 runs libtorch's, the reference here.
@Suite("small-input convolution")
struct SmallInputConvolutionTests {
    func gradients(_ dtype: DType, doubleBackward: Bool, bias withBias: Bool = true, size: (Int, Int) = (9, 11), stride: Int = 2) throws -> [Tensor] {
        let x = try Tensor.randn([5, 3, size.0, size.1], generator: Generator(seed: 1)).to(dtype).requiringGrad()
        let w = try Tensor.randn([4, 3, 3, 3], generator: Generator(seed: 2)).to(dtype).requiringGrad()
        let b = try Tensor.randn([4], generator: Generator(seed: 3)).to(dtype).requiringGrad()
        let r = try Tensor.randn([5, 4, (size.0 - 1) / stride + 1, (size.1 - 1) / stride + 1], generator: Generator(seed: 4)).to(dtype)
        return try withGrad {
            let loss = try (Functional.conv2d(x, weight: w, bias: withBias ? b : nil, stride: (stride, stride), padding: (1, 1)) * r).sum()
            if !doubleBackward { return try Tensor.grad(of: [loss], wrt: withBias ? [x, w, b] : [x, w]).map { $0! } }
            let gx = try Tensor.grad(of: loss, wrt: x, createGraph: true)
            return [try Tensor.grad(of: gx.square().sum(), wrt: w)]
        }
    }

    @Test("input, weight and bias gradients equal libtorch's (float64), and so do gradients of gradients")
    func matchesLibtorch() throws {
        for (doubleBackward, bias) in [(false, true), (false, false), (true, true), (true, false)] {
            let ours = try gradients(.float32, doubleBackward: doubleBackward, bias: bias)
            let reference = try gradients(.float64, doubleBackward: doubleBackward, bias: bias)
            for (a, b) in zip(ours, reference) {
                // float32 sums of at most 27·30 products against float64.
                #expect(try relativeDifference(a, b) < 1e-5, "double backward \(doubleBackward), bias \(bias)")
            }
        }
    }

    @Test("the input gradient at stride 1 (unfold kernel) and at stride 2 with a leftover row and column (transposed convolution)")
    func bothInputGradientPaths() throws {
        for (size, stride) in [((8, 8), 1), ((10, 12), 2)] {
            let ours = try gradients(.float32, doubleBackward: false, size: size, stride: stride)
            let reference = try gradients(.float64, doubleBackward: false, size: size, stride: stride)
            for (a, b) in zip(ours, reference) { #expect(try relativeDifference(a, b) < 1e-5, "\(size) stride \(stride)") }
        }
    }
}
