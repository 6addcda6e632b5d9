import Foundation
import Torch

extension ResNet18 {
    /// The convolutional part from `start` as one oneDNN plan (see `ConvolutionPlan`): Winograd
    /// 3×3 convolutions, batch norm folded, residual sums and ReLUs fused. Nil when this build has
    /// no oneDNN plans.
    func plan(from start: Start) throws -> ConvolutionPlan? {
        guard ConvolutionPlan.isAvailable else { return nil }
        planLock.lock()
        defer { planLock.unlock() }
        if let plan = cachedPlans[start] { return plan }
        let plan = try ConvolutionPlan()
        func add(_ convolution: Conv2d, _ norm: BatchNorm, input: Int, residual: Int? = nil, relu: Bool) throws -> Int {
            try plan.addConvolution(input: input, weight: convolution.weight, bias: convolution.bias,
                                    batchNorm: .init(weight: norm.weight, bias: norm.bias, runningMean: norm.runningMean,
                                                     runningVariance: norm.runningVar, eps: norm.eps),
                                    stride: convolution.stride.0, padding: convolution.padding.0, residual: residual, relu: relu)
        }
        var value = 0, first = 0
        switch start {
        case .image, .stem:
            // From the stem, the ReLU is the pool's (the two commute).
            if start == .image { value = try add(conv1, bn1, input: 0, relu: true) }
            value = try plan.addMaxPool(input: value, kernelSize: maxpool.kernelSize, stride: maxpool.stride, padding: maxpool.padding,
                                        relu: start == .stem)
        case .block(let index): first = index
        }
        for block in blocks[first...].compactMap({ $0 as? BasicBlock }) {
            let inner = try add(block.conv1, block.bn1, input: value, relu: true)
            var skip = value
            if let downsample = block.downsample, let convolution = downsample.layers[0] as? Conv2d,
               let norm = downsample.layers[1] as? BatchNorm {
                skip = try add(convolution, norm, input: value, relu: false)
            }
            value = try add(block.conv2, block.bn2, input: inner, residual: skip, relu: true)
        }
        cachedPlans[start] = plan
        return plan
    }

    /// Whether `forward` (and the affine split's rest) run the convolutional part on a plan
    /// (`runsOnOneDNN`; the plan's backward pass gives the input's gradient only).
    func usesPlan(_ x: Tensor) -> Bool {
        [.plan, .automatic].contains(ConvolutionPath.chosen) && ConvolutionPlan.isAvailable && runsOnOneDNN(x)
    }

    /// oneDNN's kernel for each op of the plan from the image at this input's shape, in order
    /// (nil without plans), to check which algorithm runs.
    public func planKernels(for x: Tensor, withGradients: Bool = false) throws -> [String]? {
        try plan(from: .image)?.kernels(for: x, withGradients: withGradients)
    }
}

/// Which path a ResNet's convolutions take: `automatic` (the default: a oneDNN plan where one
/// is built and measured faster than libtorch on this machine, see `ConvolutionCalibration`), or,
/// forced by `GLASSBOX_CONVOLUTION_PATH` for comparisons (`glassbox bench`, profiling), `plan`,
/// `blocked` (libtorch's operators on oneDNN's blocked layout) or `plain` (libtorch's operators on
/// plain tensors); anything else means `automatic`. Read once, at first use; `glassbox bench` prints it.
public enum ConvolutionPath: String, Sendable {
    case automatic, plan, blocked, plain

    public static let chosen: ConvolutionPath = {
        ProcessInfo.processInfo.environment["GLASSBOX_CONVOLUTION_PATH"].flatMap(ConvolutionPath.init(rawValue:)) ?? .automatic
    }()
}
