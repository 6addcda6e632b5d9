import Foundation
import Torch

/// Multi-head scaled dot-product self-attention (Vaswani et al. 2017) with PyTorch's
/// `nn.MultiheadAttention` parameter names (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`,
/// `out_proj.bias`), batch first. Hook points: `hook_q`, `hook_k`, `hook_v` (N, T, heads, d_head),
/// `hook_pattern` (N, heads, T, T), `hook_z` (N, T, heads, d_head).
public final class MultiheadSelfAttention: Module {
    public let width: Int, heads: Int
    let inProjectionWeight: Tensor, inProjectionBias: Tensor
    let outProjection: Linear
    let hookQ = HookPoint(), hookK = HookPoint(), hookV = HookPoint(), hookPattern = HookPoint(), hookZ = HookPoint()

    public init(width: Int, heads: Int, generator: Generator? = nil) throws {
        guard heads > 0, width > 0, width % heads == 0 else { throw TorchError("width \(width) must be a positive multiple of \(heads) heads") }
        (self.width, self.heads) = (width, heads)
        // Xavier-uniform in-projection and zero biases, as PyTorch initialises them.
        let bound = (6.0 / Double(width + 3 * width)).squareRoot()
        inProjectionWeight = try (Tensor.rand([3 * width, width], generator: generator) * (2 * bound) - bound).requiringGrad()
        inProjectionBias = try Tensor.zeros([3 * width]).requiringGrad()
        let projection = try Linear(width, width, generator: generator)
        try noGrad { try projection.bias!.fillInPlace(0) }
        outProjection = projection
    }

    public override var localParameters: [(name: String, tensor: Tensor)] {
        [("in_proj_weight", inProjectionWeight), ("in_proj_bias", inProjectionBias)]
    }

    public override var children: [(name: String, module: Module)] {
        [("out_proj", outProjection), ("hook_q", hookQ), ("hook_k", hookK), ("hook_v", hookV), ("hook_pattern", hookPattern), ("hook_z", hookZ)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, padding: nil, causal: false) }

    /// `padding`: (N, T) bool, true on real tokens (keys elsewhere get no attention); `causal`: each
    /// position attends only to itself and earlier ones.
    public func run(_ x: Tensor, padding: Tensor?, causal: Bool) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == width else { throw TorchError("self-attention takes (batch, time, \(width)), got \(x.shape)") }
        let (n, t, size) = (x.shape[0], x.shape[1], width / heads)
        let projected = try Functional.linear(x, weight: inProjectionWeight, bias: inProjectionBias)
        func head(_ index: Int) throws -> Tensor {
            try projected.slice(dim: 2, start: index * width, end: (index + 1) * width).reshaped([n, t, heads, size])
        }
        let q = try hookQ(head(0)), k = try hookK(head(1)), v = try hookV(head(2))
        var scores = try q.permuted([0, 2, 1, 3]).matmul(k.permuted([0, 2, 3, 1])) / Double(size).squareRoot()
        if let mask = try attentionMask(padding: padding, causal: causal, batch: n, length: t) { scores = try scores.maskedFill(mask, with: -.infinity) }
        let pattern = try hookPattern(scores.softmax(dim: -1))
        let z = try hookZ(pattern.matmul(v.permuted([0, 2, 1, 3])).permuted([0, 2, 1, 3]))
        return try outProjection(z.reshaped([n, t, width]))
    }
}

/// Where attention is forbidden, (N, 1, T, T) bool, or nil when nothing is.
func attentionMask(padding: Tensor?, causal: Bool, batch: Int, length: Int) throws -> Tensor? {
    var mask: Tensor?
    if let padding {
        guard padding.shape == [batch, length] else { throw TorchError("the padding mask must be (\(batch), \(length)), got \(padding.shape)") }
        mask = try padding.to(.bool).logicalNot().reshaped([batch, 1, 1, length])
    }
    if causal {
        let index = try Tensor.arange(0, Double(length))
        let future = try index.unsqueezed(dim: 0).gt(index.unsqueezed(dim: 1)).reshaped([1, 1, length, length])
        mask = try mask.map { try $0.logicalOr(future) } ?? future
    }
    return mask
}

/// Additive attention pooling (Bahdanau et al. 2015), as Jain & Wallace's classifiers use it:
/// scores vᵀ tanh(W h_t + b) over a sequence's hidden states, a softmax over real tokens, and the
/// weighted sum of the states. Hook point `hook_pattern`: the weights (N, T).
public final class AdditiveAttention: Module {
    let projection: Linear, score: Linear
    let hookPattern = HookPoint()

    public init(_ hiddenSize: Int, attentionSize: Int, generator: Generator? = nil) throws {
        projection = try Linear(hiddenSize, attentionSize, generator: generator)
        score = try Linear(attentionSize, 1, bias: false, generator: generator)
    }

    public override var children: [(name: String, module: Module)] {
        [("projection", projection), ("score", score), ("hook_pattern", hookPattern)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, padding: nil).context }

    /// context (N, hidden) and weights (N, T); padded steps get weight 0.
    public func run(_ states: Tensor, padding: Tensor?) throws -> (context: Tensor, weights: Tensor) {
        var scores = try score(projection(states).tanh()).squeezed(dim: 2)
        if let padding { scores = try scores.maskedFill(padding.to(.bool).logicalNot(), with: -.infinity) }
        let weights = try hookPattern(scores.softmax(dim: 1))
        return (try (states * weights.unsqueezed(dim: 2)).sum(dims: [1]), weights)
    }
}

/// Sinusoidal position encodings (Vaswani et al. 2017): (length, width), sin on even and cos on odd columns.
public func sinusoidalPositions(length: Int, width: Int) throws -> Tensor {
    let position = try Tensor.arange(0, Double(length), dtype: .float32).unsqueezed(dim: 1)
    let pairs = try Tensor.arange(0, Double(width), step: 2, dtype: .float32)
    let frequency = try (pairs * (-Foundation.log(10000.0) / Double(width))).exp().unsqueezed(dim: 0)
    let angles = try position * frequency
    let interleaved = try Tensor.stack([angles.sin(), angles.cos()], dim: 2).reshaped([length, 2 * pairs.count])
    return try interleaved.slice(dim: 1, start: 0, end: width)
}
