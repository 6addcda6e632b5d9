import Testing
import TestSupport
@testable import Torch

/// A convolution plan's max pool (CTorch/blocked_max_pool.cpp, on oneDNN's blocked layout) against
/// libtorch's max pool and ReLU.
@Suite("Max pooling in convolution plans")
struct BlockedMaxPoolTests {
    struct Window: CustomTestStringConvertible {
        let kernel: Int, stride: Int, padding: Int
        var testDescription: String { "\(kernel)×\(kernel), stride \(stride), padding \(padding)" }
    }

    @Test("values, first-maximum ties, NaNs, padding, odd sizes, a fused ReLU and gradients equal libtorch's",
          arguments: [Window(kernel: 3, stride: 2, padding: 1), Window(kernel: 2, stride: 2, padding: 0),
                      Window(kernel: 3, stride: 1, padding: 1), Window(kernel: 5, stride: 3, padding: 2)])
    func matchesLibtorch(window: Window) throws {
        guard ConvolutionPlan.isAvailable else { return }
        // 12 channels: a partly filled block of 8 or 16; integers −2…2: ties in most windows, and
        // windows of negatives only for the ReLU; a few NaNs.
        let shape = [3, 12, 13, 11]
        var x = try (Tensor.rand(shape, generator: Generator(seed: 1)) * 5.0).floor() - 2.0
        x = try x.maskedFill(Tensor.rand(shape, generator: Generator(seed: 2)).gt(0.995), with: .nan)
        for relu in [false, true] {
            let plan = try ConvolutionPlan()
            try plan.addMaxPool(input: 0, kernelSize: window.kernel, stride: window.stride, padding: window.padding, relu: relu)
            let (ours, input) = try withGrad { () -> (Tensor, Tensor) in
                let input = try x.detached().requiringGrad()
                return (try plan(input), input)
            }
            // libtorch's own kernel (3-d input), then its ReLU.
            let (expected, referenceInput) = try withGrad { () -> (Tensor, Tensor) in
                let input = try x.reshaped([36, 13, 11]).requiringGrad()
                let pooled = try Functional.maxPool2d(input, kernelSize: (window.kernel, window.kernel), stride: (window.stride, window.stride),
                                                      padding: (window.padding, window.padding))
                return (relu ? try pooled.relu() : pooled, input)
            }
            let outputShape = [3, 12] + Array(expected.shape.suffix(2))
            #expect(ours.shape == outputShape)
            func noNaN(_ t: Tensor) throws -> Tensor { try t.maskedFill(t.isNaN(), with: -7) }
            #expect(try maxDifference(noNaN(ours), noNaN(expected.reshaped(outputShape))) == 0, "relu \(relu)")
            #expect(try maxDifference(noNaN(noGrad { try plan(x) }), noNaN(ours)) == 0, "relu \(relu), inference")
            // Each input's gradient sums its windows' in output order, as libtorch's scatter does: equal, not just close.
            let g = try Tensor.randn(outputShape, generator: Generator(seed: 3))
            let gradient = try Tensor.grad(of: ours, wrt: input, gradOutput: g)
            let expectedGradient = try Tensor.grad(of: expected, wrt: referenceInput, gradOutput: g.reshaped(Array(expected.shape)))
            #expect(try maxDifference(gradient, expectedGradient.reshaped(shape)) == 0, "relu \(relu)")
        }
    }

    @Test("windows the pool cannot take are clear errors")
    func badWindows() throws {
        guard ConvolutionPlan.isAvailable else { return }
        let plan = try ConvolutionPlan()
        #expect(throws: TorchError.self) { try plan.addMaxPool(input: 0, kernelSize: 3, stride: 2, padding: 2) }
        #expect(throws: TorchError.self) { try plan.addMaxPool(input: 0, kernelSize: 16, stride: 1, padding: 0) }
        try plan.addMaxPool(input: 0, kernelSize: 5, stride: 1, padding: 0)
        #expect(throws: TorchError.self) { try plan(Tensor.zeros([1, 8, 4, 4])) }
    }
}
