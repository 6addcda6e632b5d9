import Torch

extension BatchNorm {
    /// `self(convolution(x))`, computed as one convolution when this batch norm is in eval mode
    /// and neither module has hooks: eval-mode batch norm is a per-channel affine map, so it folds
    /// into the convolution's weights and bias (w·γ/√(var + ε), (b − mean)·γ/√(var + ε) + β).
    /// That removes a full pass over the activations forward and backward (in PyTorch, 17% of a
    /// ResNet-18 forward and input-gradient pass), and gradients still reach every parameter. The result
    /// equals the two-step one up to float rounding. With hooks on either module both run as
    /// usual, so hook points keep their meaning.
    func applied(after convolution: Conv2d, to x: Tensor) throws -> Tensor {
        guard !isTraining, hooks.isEmpty, convolution.hooks.isEmpty, x.rank == 4, expectedRanks.contains(4) else {
            return try self(convolution(x))
        }
        let (weight, shift) = try folded(into: convolution)
        return try Functional.conv2d(x, weight: weight, bias: shift, stride: convolution.stride, padding: convolution.padding)
    }

    /// `self(convolution(x))` on a batch that may be a local change (eval mode, no hooks: see
    /// `Module.outputs(locally:)`), as one folded convolution; its windows on `windowPlan` when
    /// given (see `LocalActivations.convolved`).
    func applied(after convolution: Conv2d, to x: LocalActivations, windowPlan: ConvolutionPlan? = nil) throws -> LocalActivations {
        let (weight, shift) = try folded(into: convolution)
        return try x.convolved(weight: weight, bias: shift, stride: convolution.stride, padding: convolution.padding, windowPlan: windowPlan)
    }

    /// The convolution's weight and bias with this eval-mode batch norm folded in.
    func folded(into convolution: Conv2d) throws -> (weight: Tensor, bias: Tensor) {
        let scale = try (runningVar + eps).rsqrt() * weight
        return (try convolution.weight * scale.reshaped([-1, 1, 1, 1]),
                try (convolution.bias.map { try $0 - runningMean } ?? -runningMean) * scale + bias)
    }
}
