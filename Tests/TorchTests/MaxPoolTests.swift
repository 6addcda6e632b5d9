import Testing
import TestSupport
@testable import Torch

/// The 2×2, stride-2 max pool (CTorch/max_pool.cpp) against libtorch's own kernel, which the shim
/// still uses for 3-d (C, H, W) inputs.
@Suite("2×2 max pool")
struct MaxPoolTests {
    @Test("values, first-maximum ties, NaNs, odd sizes and gradients equal libtorch's", arguments: [DType.float32, .float64])
    func matchesLibtorch(dtype: DType) throws {
        // Integers 0…2: most windows hold ties; two NaNs, one with a later NaN in its window.
        var x = try (Tensor.rand([3, 4, 7, 9], dtype: dtype, generator: Generator(seed: 1)) * 3.0).floor()
        let nanMask = try Tensor.zeros([3, 4, 7, 9], dtype: .bool).scatter(
            dim: 3, index: Tensor([Int64](repeating: 1, count: 3 * 4 * 7), shape: [3, 4, 7, 1]), source: Tensor.rand([3, 4, 7, 1], generator: Generator(seed: 2)).gt(0.9))
        x = try x.maskedFill(nanMask, with: .nan)
        let ours = try x.requiringGrad(), reference = try x.reshaped([12, 7, 9]).requiringGrad()
        let (a, b) = try withGrad { (try Functional.maxPool2d(ours, kernelSize: (2, 2)), try Functional.maxPool2d(reference, kernelSize: (2, 2))) }
        #expect(a.shape == [3, 4, 3, 4])
        #expect(try maxDifference(a.maskedFill(a.isNaN(), with: -7), b.reshaped([3, 4, 3, 4]).maskedFill(b.reshaped([3, 4, 3, 4]).isNaN(), with: -7)) == 0)
        let g = try Tensor.randn([3, 4, 3, 4], dtype: dtype, generator: Generator(seed: 3))
        let ga = try Tensor.grad(of: a, wrt: ours, gradOutput: g)
        let gb = try Tensor.grad(of: b, wrt: reference, gradOutput: g.reshaped([12, 3, 4]))
        #expect(try maxDifference(ga, gb.reshaped([3, 4, 7, 9])) == 0)
    }

    @Test("gradients of gradients still flow (create_graph)")
    func doubleBackward() throws {
        let x = try Tensor.randn([2, 3, 6, 6], dtype: .float64, generator: Generator(seed: 4)).requiringGrad()
        let (gradient, y) = try withGrad { () -> (Tensor, Tensor) in
            let y = try Functional.maxPool2d(x, kernelSize: (2, 2)).square().sum()
            return (try Tensor.grad(of: y, wrt: x, createGraph: true), y)
        }
        #expect(gradient.requiresGrad)
        // d/dx Σ (∂y/∂x)² = 2·(∂y/∂x)·∂²y/∂x² = 2·(2·x_max)·2 at each window's maximum.
        let second = try withGrad { try Tensor.grad(of: gradient.square().sum(), wrt: x) }
        #expect(try maxDifference(second, gradient * 4.0) < 1e-12)
        _ = y
    }
}
