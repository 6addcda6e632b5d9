import Testing
import TestSupport
@testable import Torch

/// The 2×2, stride-2 max pool (CTorch/max_pool.cpp) against libtorch's own kernel, which the shim
/// still uses for 3-d (C, H, W) inputs.
@Suite("2×2 max pool")
struct MaxPoolTests {
    @Test("values, first-maximum ties, NaNs, odd sizes and gradients equal libtorch's", arguments: [DType.float32, .float64])
    func matchesLibtorch(dtype: DType) throws {
        // Rows of 4, 15 and 2 windows: float32's vectors of 4, of 8 with an overlapping last one,
        // and the scalar loop.
        for shape in [[3, 4, 7, 9], [2, 3, 6, 31], [2, 2, 5, 5]] {
            let (oh, ow) = (shape[2] / 2, shape[3] / 2)
            // Integers 0…2: most windows hold ties; NaNs in column 1 of some rows, some windows with a later NaN too.
            var x = try (Tensor.rand(shape, dtype: dtype, generator: Generator(seed: 1)) * 3.0).floor()
            let rows = shape[0] * shape[1] * shape[2]
            let nanMask = try Tensor.zeros(shape, dtype: .bool).scatter(
                dim: 3, index: Tensor([Int64](repeating: 1, count: rows), shape: Array(shape.prefix(3)) + [1]),
                source: Tensor.rand(Array(shape.prefix(3)) + [1], generator: Generator(seed: 2)).gt(0.9))
            x = try x.maskedFill(nanMask, with: .nan).maskedFill(Tensor.rand(shape, generator: Generator(seed: 5)).gt(0.97), with: .nan)
            let planes = shape[0] * shape[1]
            let ours = try x.requiringGrad(), reference = try x.reshaped([planes, shape[2], shape[3]]).requiringGrad()
            let (a, b) = try withGrad { (try Functional.maxPool2d(ours, kernelSize: (2, 2)), try Functional.maxPool2d(reference, kernelSize: (2, 2))) }
            let pooled = [shape[0], shape[1], oh, ow]
            #expect(a.shape == pooled)
            #expect(try maxDifference(a.maskedFill(a.isNaN(), with: -7), b.reshaped(pooled).maskedFill(b.reshaped(pooled).isNaN(), with: -7)) == 0, "\(shape)")
            let g = try Tensor.randn(pooled, dtype: dtype, generator: Generator(seed: 3))
            let ga = try Tensor.grad(of: a, wrt: ours, gradOutput: g)
            let gb = try Tensor.grad(of: b, wrt: reference, gradOutput: g.reshaped([planes, oh, ow]))
            #expect(try maxDifference(ga, gb.reshaped(shape)) == 0, "\(shape)")
        }
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
