import Foundation
import Torch

/// A network's 3×3 stride-1 convolutions, batch norm folded, as one-convolution plans with
/// padding 1, for the windows of the local path (`Module.outputs(locally:)`).
///
/// Why: libtorch runs the windows on direct kernels only; a plan runs them on Winograd kernels
/// (oneDNN's, or its own over sgemm on AVX2 CPUs), about a third of the multiplications. A window
/// of h + 2 rows and columns convolved with padding 1 and cropped by one pixel all round is exactly
/// its valid convolution, so the result is the same up to Winograd's float rounding. Each plan is
/// made at first use.
final class WindowConvolutionPlans: @unchecked Sendable {
    private let lock = NSLock()
    private var plans: [ObjectIdentifier: ConvolutionPlan] = [:]

    /// The plan for `norm(convolution(·))` with padding 1; nil where it does not apply (not a 3×3
    /// stride-1 convolution, or no plans in this build).
    func plan(for convolution: Conv2d, _ norm: BatchNorm) throws -> ConvolutionPlan? {
        guard ConvolutionPlan.isAvailable, convolution.weight.shape.suffix(2) == [3, 3], convolution.stride == (1, 1) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let plan = plans[ObjectIdentifier(convolution)] { return plan }
        let plan = try ConvolutionPlan()
        try plan.addConvolution(input: 0, weight: convolution.weight, bias: convolution.bias,
                                batchNorm: .init(weight: norm.weight, bias: norm.bias, runningMean: norm.runningMean,
                                                 runningVariance: norm.runningVar, eps: norm.eps),
                                stride: 1, padding: 1, relu: false)
        plans[ObjectIdentifier(convolution)] = plan
        return plan
    }
}
