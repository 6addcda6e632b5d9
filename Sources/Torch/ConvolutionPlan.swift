import CTorch
import Foundation

/// A fixed chain of convolutions and max pools (ReLUs fused into them), run on oneDNN directly
/// rather than through libtorch's operators.
///
/// Why: libtorch always asks oneDNN for direct convolutions. A plan uses oneDNN's Winograd
/// kernels for 3×3 stride-1 convolutions (Lavin & Gray 2016, "Fast Algorithms for Convolutional
/// Neural Networks"; about twice as fast as direct ones on AVX-512), folds eval-mode batch norm
/// into the weights once, fuses residual sums and ReLUs into the convolution, and keeps
/// activations in the blocked layout throughout. Where oneDNN has no Winograd kernels (AVX2
/// CPUs), the plan runs its own, F(4×4, 3×3) over oneDNN's sgemm (`Winograd`). Results equal
/// libtorch's up to float rounding (Winograd's transforms add a few 1e-6 of relative error).
///
/// The plan reads its parameters again when libtorch's version counter says they were changed
/// in place (an optimizer step, `loadStateDict`), so it never runs stale weights. When gradients
/// are on and the input requires one, the output's backward pass (also on oneDNN, Winograd
/// included) gives the input gradient: first order only, and no gradient reaches the parameters.
public final class ConvolutionPlan: @unchecked Sendable {
    let handle: gbt_conv_plan

    /// Whether this build has oneDNN plans (they need libdnnl-dev's headers at build time).
    public static var isAvailable: Bool { gbt_conv_plan_available() != 0 }

    /// Which Winograd kernels the 3×3 stride-1 convolutions of plans use (Lavin & Gray 2016).
    public enum Winograd: Int32, Sendable {
        /// oneDNN's where it has them (AVX-512 CPUs; there runs that keep activations for input
        /// gradients use Winograd over sgemm on maps of at most 16 tiles of 4×4 outputs, where
        /// oneDNN's backward is slow), else Winograd F(4×4, 3×3) over sgemm from 16 tiles up
        /// (AVX2 CPUs), else direct kernels.
        case automatic = 0
        /// Winograd over sgemm wherever the shape allows (channel counts divisible by the layout's block).
        case gemm = 1
        /// oneDNN's only: direct kernels on CPUs without AVX-512.
        case oneDNN = 2
        /// Direct kernels only.
        case off = 3
    }

    /// Whether this CPU can run Winograd over sgemm (it needs AVX2 and FMA).
    public static var canUseGemmWinograd: Bool { gbt_winograd_gemm_supported() != 0 }

    /// Which Winograd kernels new plans use on this CPU, for benchmark headers and calibration keys.
    public static var winogradDescription: String {
        let oneDNN = gbt_onednn_has_winograd() != 0
        switch defaultWinograd {
        case .automatic:
            // A value the shim did not understand falls back to automatic: say so where it shows.
            let unknown = gbt_conv_plan_winograd_setting_understood() != 0 ? ""
                : " (GLASSBOX_WINOGRAD=\(ProcessInfo.processInfo.environment["GLASSBOX_WINOGRAD"] ?? "") not understood: use auto, gemm, onednn or off)"
            if oneDNN { return (canUseGemmWinograd ? "oneDNN's (over sgemm for input gradients on at most 16 tiles)" : "oneDNN's") + unknown }
            return (canUseGemmWinograd ? "over sgemm from 16 tiles" : "none") + unknown
        case .gemm: return "over sgemm (GLASSBOX_WINOGRAD=gemm)"
        case .oneDNN: return oneDNN ? "oneDNN's" : "none (GLASSBOX_WINOGRAD=onednn)"
        case .off: return "none (GLASSBOX_WINOGRAD=off)"
        }
    }

    /// New plans' Winograd kernels: `GLASSBOX_WINOGRAD` (`auto`, `gemm`, `onednn`, `off`; for
    /// comparing paths), else automatic.
    public static var defaultWinograd: Winograd { Winograd(rawValue: Int32(gbt_conv_plan_default_winograd())) ?? .automatic }

    /// Chooses this plan's Winograd kernels (its next run plans every shape again).
    public func useWinograd(_ choice: Winograd) throws {
        try check(gbt_conv_plan_set_winograd(handle, choice.rawValue), "convolution plan")
    }

    public init() throws {
        _ = engineDefaults
        var out: gbt_conv_plan?
        try check(gbt_conv_plan_new(&out), "convolution plan")
        handle = out!
    }

    deinit { gbt_conv_plan_free(handle) }

    /// Eval-mode batch norm parameters to fold into a convolution.
    public struct BatchNormParameters {
        public let weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor
        public let eps: Double

        public init(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor, eps: Double) {
            self.weight = weight
            self.bias = bias
            self.runningMean = runningMean
            self.runningVariance = runningVariance
            self.eps = eps
        }
    }

    /// Adds relu?(batchNorm(conv(input)) + residual) and returns its value (the plan's input is value 0).
    @discardableResult
    public func addConvolution(input: Int, weight: Tensor, bias: Tensor?, batchNorm: BatchNormParameters?,
                               stride: Int, padding: Int, residual: Int? = nil, relu: Bool) throws -> Int {
        var value: Int32 = 0
        try check(gbt_conv_plan_add_convolution(
            handle, Int32(input), weight.handle, bias?.handle, batchNorm?.weight.handle, batchNorm?.bias.handle,
            batchNorm?.runningMean.handle, batchNorm?.runningVariance.handle, batchNorm?.eps ?? 0,
            Int64(stride), Int64(padding), Int32(residual ?? -1), relu ? 1 : 0, &value), "convolution plan")
        return Int(value)
    }

    /// Adds a max pool (square window), followed by a ReLU if asked (the same as a ReLU before
    /// it), and returns its value.
    @discardableResult
    public func addMaxPool(input: Int, kernelSize: Int, stride: Int, padding: Int, relu: Bool = false) throws -> Int {
        var value: Int32 = 0
        try check(gbt_conv_plan_add_max_pool(handle, Int32(input), Int64(kernelSize), Int64(stride), Int64(padding), relu ? 1 : 0, &value),
                  "convolution plan")
        return Int(value)
    }

    /// Runs the plan on a float32 (N, C, H, W) CPU tensor and returns the last op's output
    /// (channels last in memory when the input is, as libtorch's convolutions do).
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try makeTensor("convolution plan on \(shapeText(input.shape))") { gbt_conv_plan_run(handle, input.handle, &$0) }
    }

    /// oneDNN's kernel for each op at this input's shape (for example `jit_wino_4x3:avx512_core`).
    /// `withGradients`: the kernels of a run that records its backward pass.
    public func kernels(for input: Tensor, withGradients: Bool = false) throws -> [String] {
        var text: UnsafeMutablePointer<CChar>?
        try check(gbt_conv_plan_kernels(handle, input.handle, withGradients ? 1 : 0, &text), "convolution plan")
        defer { gbt_string_free(text) }
        return String(cString: text!).split(separator: "\n").map(String.init)
    }
}
