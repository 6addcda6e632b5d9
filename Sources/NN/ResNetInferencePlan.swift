import Foundation
import Torch

extension ResNet18 {
    /// The convolutional part (conv1 to layer4) as one oneDNN plan: Winograd 3×3 convolutions,
    /// batch norm folded, residual sums and ReLUs fused (see `ConvolutionPlan`). Used for
    /// inference without gradients, in eval mode and without hooks, where no intermediate value
    /// needs to be seen; nil when this build has no oneDNN plans.
    func inferencePlan() throws -> ConvolutionPlan? {
        guard ConvolutionPlan.isAvailable else { return nil }
        planLock.lock()
        defer { planLock.unlock() }
        if let plan = cachedPlan { return plan }
        let plan = try ConvolutionPlan()
        func add(_ convolution: Conv2d, _ norm: BatchNorm, input: Int, residual: Int? = nil, relu: Bool) throws -> Int {
            try plan.addConvolution(input: input, weight: convolution.weight, bias: convolution.bias,
                                    batchNorm: .init(weight: norm.weight, bias: norm.bias, runningMean: norm.runningMean,
                                                     runningVariance: norm.runningVar, eps: norm.eps),
                                    stride: convolution.stride.0, padding: convolution.padding.0, residual: residual, relu: relu)
        }
        var value = try add(conv1, bn1, input: 0, relu: true)
        value = try plan.addMaxPool(input: value, kernelSize: maxpool.kernelSize, stride: maxpool.stride, padding: maxpool.padding)
        for block in stages.flatMap({ $0.layers.compactMap { $0 as? BasicBlock } }) {
            let inner = try add(block.conv1, block.bn1, input: value, relu: true)
            var skip = value
            if let downsample = block.downsample, let convolution = downsample.layers[0] as? Conv2d,
               let norm = downsample.layers[1] as? BatchNorm {
                skip = try add(convolution, norm, input: value, relu: false)
            }
            value = try add(block.conv2, block.bn2, input: inner, residual: skip, relu: true)
        }
        cachedPlan = plan
        return plan
    }

    /// Whether `forward` runs the convolutional part through `inferencePlan()` for this input.
    func usesInferencePlan(_ x: Tensor) -> Bool {
        !Torch.isGradEnabled && ConvolutionPlan.isAvailable && x.dtype == .float32 && x.device == .cpu && x.rank == 4
            && namedModules().allSatisfy { !$0.module.isTraining && $0.module.hooks.isEmpty }
    }

    /// oneDNN's kernel for each convolution and pooling of the inference plan at this input's
    /// shape, in order (nil without a plan), to check which algorithm runs.
    public func inferenceKernels(for x: Tensor) throws -> [String]? {
        try inferencePlan()?.kernels(for: x)
    }
}
