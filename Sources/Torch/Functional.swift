import CTorch

/// How a loss reduces over the batch.
public enum Reduction: Int64, Sendable {
    case none = 0, mean = 1, sum = 2
}

/// How ReLU passes gradients backwards.
public enum ReLUBackwardRule: Int32, Sendable {
    /// The true gradient: g · 1[x > 0].
    case standard = 0
    /// Guided Backpropagation (Springenberg et al. 2015): max(g, 0) · 1[x > 0].
    case guided = 1
    /// DeconvNet (Zeiler & Fergus 2014): max(g, 0), ignoring the forward mask.
    case deconvolution = 2
}

/// Stateless neural-network functions (PyTorch's torch.nn.functional).
public enum Functional {
    static func pair(_ v: (Int, Int)) -> [Int] { [v.0, v.1] }

    /// y = x · Wᵀ + b
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        try withExtendedLifetime((weight, bias)) {
            try makeTensor("linear on input \(shapeText(x.shape)) with weight \(shapeText(weight.shape))") {
                gbt_linear(x.handle, weight.handle, bias?.handle, &$0)
            }
        }
    }

    /// input + scale · (a @ b) for batches of matrices, in one pass (libtorch's baddbmm): (B, n, k) @ (B, k, m).
    public static func batchedProduct(_ a: Tensor, _ b: Tensor, scaledBy scale: Double = 1, adding input: Tensor) throws -> Tensor {
        try withExtendedLifetime((a, b, input)) {
            try makeTensor("batched product of \(shapeText(a.shape)) and \(shapeText(b.shape)) added to \(shapeText(input.shape))") {
                gbt_baddbmm(input.handle, a.handle, b.handle, scale, &$0)
            }
        }
    }

    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1),
                              padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) throws -> Tensor {
        try withExtendedLifetime((weight, bias)) {
            try withInt64s(pair(stride) + pair(padding) + pair(dilation)) { p, _ in
                try makeTensor("conv2d on input \(shapeText(x.shape)) with weight \(shapeText(weight.shape))") {
                    gbt_conv2d(x.handle, weight.handle, bias?.handle, p, p + 2, p + 4, Int64(groups), &$0)
                }
            }
        }
    }

    public static func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1),
                                       padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0),
                                       groups: Int = 1) throws -> Tensor {
        try withExtendedLifetime((weight, bias)) {
            try withInt64s(pair(stride) + pair(padding) + pair(outputPadding)) { p, _ in
                try makeTensor("conv_transpose2d on input \(shapeText(x.shape)) with weight \(shapeText(weight.shape))") {
                    gbt_conv_transpose2d(x.handle, weight.handle, bias?.handle, p, p + 2, p + 4, Int64(groups), &$0)
                }
            }
        }
    }

    public static func maxPool2d(_ x: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                                 padding: (Int, Int) = (0, 0), ceilMode: Bool = false) throws -> Tensor {
        try pool(0, x, kernelSize, stride ?? kernelSize, padding, ceilMode, "max_pool2d")
    }

    public static func avgPool2d(_ x: Tensor, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                                 padding: (Int, Int) = (0, 0), ceilMode: Bool = false) throws -> Tensor {
        try pool(1, x, kernelSize, stride ?? kernelSize, padding, ceilMode, "avg_pool2d")
    }

    static func pool(_ kind: Int32, _ x: Tensor, _ k: (Int, Int), _ s: (Int, Int), _ p: (Int, Int), _ ceil: Bool,
                     _ name: String) throws -> Tensor {
        try withInt64s(pair(k) + pair(s) + pair(p)) { a, _ in
            try makeTensor("\(name) on input \(shapeText(x.shape))") { gbt_pool2d(kind, x.handle, a, a + 2, a + 4, ceil ? 1 : 0, &$0) }
        }
    }

    public static func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int)) throws -> Tensor {
        try withInt64s(pair(outputSize)) { a, _ in
            try makeTensor("adaptive_avg_pool2d on input \(shapeText(x.shape))") { gbt_adaptive_avg_pool2d(x.handle, a, &$0) }
        }
    }

    /// Bilinear resizing of an (N, C, H, W) tensor.
    public static func upsampleBilinear(_ x: Tensor, size: (Int, Int), alignCorners: Bool = false) throws -> Tensor {
        try withInt64s(pair(size)) { a, _ in
            try makeTensor("bilinear upsampling of \(shapeText(x.shape))") { gbt_upsample_bilinear2d(x.handle, a, alignCorners ? 1 : 0, &$0) }
        }
    }

    /// Bilinear resampling of (N, C, H, W) images through affine maps `theta` (N, 2, 3) from output to
    /// input coordinates in [-1, 1] (PyTorch's affine_grid + grid_sample); outside the image reads 0.
    public static func affineWarp(_ x: Tensor, theta: Tensor) throws -> Tensor {
        try withExtendedLifetime(theta) {
            try makeTensor("affine warp of \(shapeText(x.shape)) by \(shapeText(theta.shape))") { gbt_affine_warp(x.handle, theta.handle, &$0) }
        }
    }

    /// Nearest-neighbour resizing of an (N, C, H, W) tensor.
    public static func upsampleNearest(_ x: Tensor, size: (Int, Int)) throws -> Tensor {
        try withInt64s(pair(size)) { a, _ in
            try makeTensor("nearest upsampling of \(shapeText(x.shape))") { gbt_upsample_nearest2d(x.handle, a, &$0) }
        }
    }

    /// Batch normalisation; in training it updates the running statistics in place.
    public static func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                                 training: Bool, momentum: Double = 0.1, eps: Double = 1e-5) throws -> Tensor {
        try withExtendedLifetime((weight, bias, runningMean, runningVar)) {
            try makeTensor("batch_norm on input \(shapeText(x.shape))") {
                gbt_batch_norm(x.handle, weight?.handle, bias?.handle, runningMean?.handle, runningVar?.handle,
                               training ? 1 : 0, momentum, eps, &$0)
            }
        }
    }

    public static func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) throws -> Tensor {
        try withExtendedLifetime((weight, bias)) {
            try withInt64s(normalizedShape) { s, n in
                try makeTensor("layer_norm over \(shapeText(normalizedShape)) of \(shapeText(x.shape))") {
                    gbt_layer_norm(x.handle, s, n, weight?.handle, bias?.handle, eps, &$0)
                }
            }
        }
    }

    /// Inverted dropout; uses the global generator (seed it with `Torch.manualSeed`).
    public static func dropout(_ x: Tensor, probability: Double, training: Bool) throws -> Tensor {
        guard (0...1).contains(probability) else { throw TorchError("dropout probability must be in [0, 1], got \(probability)") }
        return try makeTensor("dropout") { gbt_dropout(x.handle, probability, training ? 1 : 0, &$0) }
    }

    public static func embedding(_ indices: Tensor, weight: Tensor) throws -> Tensor {
        try withExtendedLifetime((indices, weight)) {
            try makeTensor("embedding of indices \(shapeText(indices.shape)) in table \(shapeText(weight.shape))") {
                gbt_embedding(weight.handle, indices.handle, &$0)
            }
        }
    }

    /// ReLU whose backward pass follows `rule`.
    public static func relu(_ x: Tensor, backward rule: ReLUBackwardRule) throws -> Tensor {
        try makeTensor("relu") { gbt_relu_with_backward(x.handle, rule.rawValue, &$0) }
    }

    /// SoLU (Elhage et al. 2022): x · softmax(x) over the last dimension.
    public static func solu(_ x: Tensor) throws -> Tensor {
        try x * x.softmax(dim: -1)
    }

    // MARK: losses

    /// Cross-entropy of logits (N, C, …) against class indices (N, …).
    public static func crossEntropy(_ logits: Tensor, target: Tensor, reduction: Reduction = .mean,
                                    labelSmoothing: Double = 0) throws -> Tensor {
        try withExtendedLifetime(target) {
            try makeTensor("cross entropy of logits \(shapeText(logits.shape)) and targets \(shapeText(target.shape)) \(target.dtype)") {
                gbt_cross_entropy(logits.handle, target.handle, reduction.rawValue, labelSmoothing, &$0)
            }
        }
    }

    /// Negative log-likelihood of log-probabilities against class indices.
    public static func nllLoss(_ logProbabilities: Tensor, target: Tensor, reduction: Reduction = .mean) throws -> Tensor {
        try withExtendedLifetime(target) {
            try makeTensor("nll loss of \(shapeText(logProbabilities.shape)) and targets \(shapeText(target.shape))") {
                gbt_nll_loss(logProbabilities.handle, target.handle, reduction.rawValue, &$0)
            }
        }
    }

    public static func mseLoss(_ x: Tensor, target: Tensor, reduction: Reduction = .mean) throws -> Tensor {
        try withExtendedLifetime(target) {
            try makeTensor("mse loss of \(shapeText(x.shape)) and \(shapeText(target.shape))") {
                gbt_mse_loss(x.handle, target.handle, reduction.rawValue, &$0)
            }
        }
    }

    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, target: Tensor, reduction: Reduction = .mean) throws -> Tensor {
        try withExtendedLifetime(target) {
            try makeTensor("binary cross entropy of \(shapeText(logits.shape)) and \(shapeText(target.shape))") {
                gbt_bce_with_logits(logits.handle, target.handle, reduction.rawValue, &$0)
            }
        }
    }
}

extension Functional {
    /// libtorch's fused LSTM (no loop over time steps in Swift). `parameters`: per layer and direction
    /// w_ih, w_hh, b_ih, b_hh (PyTorch's order). With `lengths`, padded sequences are packed so the
    /// padding never enters the recurrence. Returns the output sequence and the final hidden and cell states.
    public static func lstm(_ x: Tensor, lengths: Tensor?, parameters: [Tensor], layers: Int, bidirectional: Bool, batchFirst: Bool,
                            hiddenSize: Int) throws -> (output: Tensor, hidden: Tensor, cell: Tensor) {
        var output: gbt_tensor?, hidden: gbt_tensor?, cell: gbt_tensor?
        try withHandles(parameters) { handles in
            try withExtendedLifetime((x, lengths)) {
                try check(gbt_lstm(x.handle, lengths?.handle, handles, Int64(parameters.count), 1, Int64(layers), bidirectional ? 1 : 0,
                                   batchFirst ? 1 : 0, Int64(hiddenSize), &output, &hidden, &cell), "LSTM on \(shapeText(x.shape))")
            }
        }
        return (Tensor(handle: output!), Tensor(handle: hidden!), Tensor(handle: cell!))
    }
}
