import Torch

/// A transformer encoder block with PyTorch's `nn.TransformerEncoderLayer` names (`self_attn`,
/// `linear1`, `linear2`, `norm1`, `norm2`): post-LayerNorm (x = LN(x + attn(x)), the original) or
/// pre-LayerNorm (x = x + attn(LN(x))); MLP with ReLU, GELU or SoLU followed by a LayerNorm
/// (`ln_mlp`; Elhage et al. 2022, "Softmax Linear Units"). No dropout.
///
/// Hook points as TransformerLens names them: `hook_resid_pre`, `hook_attn_out`, `hook_resid_mid`,
/// `hook_mlp_pre`, `hook_mlp_post`, `hook_mlp_out`, `hook_resid_post`, and the attention's own.
public final class TransformerBlock: Module {
    public enum Activation: String, CaseIterable, Codable, Sendable { case relu, gelu, solu }

    public let activation: Activation, preLayerNorm: Bool
    let attention: MultiheadSelfAttention
    let linear1: Linear, linear2: Linear, norm1: LayerNorm, norm2: LayerNorm
    let mlpNorm: LayerNorm?
    let residPre = HookPoint(), attnOut = HookPoint(), residMid = HookPoint(), mlpPre = HookPoint(), mlpPost = HookPoint()
    let mlpOut = HookPoint(), residPost = HookPoint()

    public init(width: Int, heads: Int, mlpWidth: Int, activation: Activation = .gelu, preLayerNorm: Bool = false,
                generator: Generator? = nil) throws {
        (self.activation, self.preLayerNorm) = (activation, preLayerNorm)
        attention = try MultiheadSelfAttention(width: width, heads: heads, generator: generator)
        linear1 = try Linear(width, mlpWidth, generator: generator)
        linear2 = try Linear(mlpWidth, width, generator: generator)
        norm1 = try LayerNorm([width])
        norm2 = try LayerNorm([width])
        mlpNorm = activation == .solu ? try LayerNorm([mlpWidth]) : nil
    }

    public override var children: [(name: String, module: Module)] {
        [("self_attn", attention), ("linear1", linear1), ("linear2", linear2), ("norm1", norm1), ("norm2", norm2)]
            + (mlpNorm.map { [("ln_mlp", $0)] } ?? [])
            + [("hook_resid_pre", residPre), ("hook_attn_out", attnOut), ("hook_resid_mid", residMid), ("hook_mlp_pre", mlpPre),
               ("hook_mlp_post", mlpPost), ("hook_mlp_out", mlpOut), ("hook_resid_post", residPost)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, padding: nil, causal: false) }

    func mlp(_ x: Tensor) throws -> Tensor {
        let pre = try mlpPre(linear1(x))
        var post: Tensor
        switch activation {
        case .relu: post = try pre.relu()
        case .gelu: post = try pre.gelu()
        case .solu: post = try mlpNorm!(Functional.solu(pre))
        }
        return try mlpOut(linear2(mlpPost(post)))
    }

    /// `padding` (N, T) bool, true on real tokens; `causal` for a language model.
    public func run(_ input: Tensor, padding: Tensor?, causal: Bool) throws -> Tensor {
        let x = try residPre(input)
        if preLayerNorm {
            let middle = try residMid(x + attnOut(attention.run(norm1(x), padding: padding, causal: causal)))
            return try residPost(middle + mlp(norm2(middle)))
        }
        let middle = try residMid(norm1(x + attnOut(attention.run(x, padding: padding, causal: causal))))
        return try residPost(norm2(middle + mlp(middle)))
    }
}
