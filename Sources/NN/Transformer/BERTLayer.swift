import Foundation
import Torch

/// One post-LayerNorm BERT block: self-attention, add & norm, GELU MLP, add & norm.
final class BERTLayer: Module {
    let attention: BERTAttention, intermediate: BERTIntermediate, output: BERTOutput
    let residPre = HookPoint(), attnOut = HookPoint(), residMid = HookPoint(), mlpOut = HookPoint(), residPost = HookPoint()

    init(_ c: BERT.Configuration, generator: Generator?) throws {
        attention = try BERTAttention(c, generator: generator)
        intermediate = try BERTIntermediate(c, generator: generator)
        output = try BERTOutput(c.intermediateSize, c.hiddenSize, epsilon: c.layerNormEpsilon, generator: generator)
    }

    override var children: [(name: String, module: Module)] {
        [("attention", attention), ("intermediate", intermediate), ("output", output), ("hook_resid_pre", residPre),
         ("hook_attn_out", attnOut), ("hook_resid_mid", residMid), ("hook_mlp_out", mlpOut), ("hook_resid_post", residPost)]
    }

    func run(_ input: Tensor, additiveMask: Tensor) throws -> Tensor {
        let x = try residPre(input)
        let attended = try attnOut(attention.selfAttention.run(x, additiveMask: additiveMask, output: attention.output.dense))
        return try finish(attended: attended, input: x)
    }

    /// The same block on the real tokens only, (L, hidden) in `layout`'s order: every product
    /// skips the padding, which only attention needs laid out (N, T). For calls without hooks:
    /// hook points here would see packed rows, not the (N, T, …) tensors they promise.
    func run(packed x: Tensor, layout: PackedTokens) throws -> Tensor {
        try finish(attended: attention.selfAttention.run(packed: x, layout: layout, output: attention.output.dense), input: x)
    }

    private func finish(attended: Tensor, input x: Tensor) throws -> Tensor {
        let middle = try residMid(attention.output.norm(attended + x))
        let mlp = try mlpOut(output.dense(intermediate(middle)))
        return try residPost(output.norm(mlp + middle))
    }

    override func forward(_ x: Tensor) throws -> Tensor {
        try run(x, additiveMask: Tensor.zeros([x.shape[0] * attention.selfAttention.heads, x.shape[1], x.shape[1]]))
    }
}

/// `attention.self` and `attention.output` in Hugging Face's layout.
final class BERTAttention: Module {
    let selfAttention: BERTSelfAttention, output: BERTDenseNorm
    init(_ c: BERT.Configuration, generator: Generator?) throws {
        selfAttention = try BERTSelfAttention(c, generator: generator)
        output = try BERTDenseNorm(c.hiddenSize, c.hiddenSize, epsilon: c.layerNormEpsilon, generator: generator)
    }
    override var children: [(name: String, module: Module)] { [("self", selfAttention), ("output", output)] }
    override func forward(_ x: Tensor) throws -> Tensor { throw TorchError("attention is run by its layer, not called") }
}

/// Multi-head scaled dot-product self-attention (Vaswani et al. 2017) with a padding mask.
final class BERTSelfAttention: Module {
    let query: Linear, key: Linear, value: Linear
    let hookQ = HookPoint(), hookK = HookPoint(), hookV = HookPoint(), hookPattern = HookPoint(), hookZ = HookPoint()
    let heads: Int, headSize: Int

    init(_ c: BERT.Configuration, generator: Generator?) throws {
        query = try Linear(c.hiddenSize, c.hiddenSize, generator: generator)
        key = try Linear(c.hiddenSize, c.hiddenSize, generator: generator)
        value = try Linear(c.hiddenSize, c.hiddenSize, generator: generator)
        heads = c.heads
        headSize = c.hiddenSize / c.heads
    }

    override var children: [(name: String, module: Module)] {
        [("query", query), ("key", key), ("value", value), ("hook_q", hookQ), ("hook_k", hookK), ("hook_v", hookV),
         ("hook_pattern", hookPattern), ("hook_z", hookZ)]
    }

    /// The attention output after `output` (the block's dense projection, `attention.output.dense`).
    /// `additiveMask` (N · heads, T, T) is added to the scaled scores. Queries, keys and values come
    /// from one product with the three weights stacked (speed: see `glassbox bench text`).
    func run(_ x: Tensor, additiveMask: Tensor, output: Linear) throws -> Tensor {
        let (n, t) = (x.shape[0], x.shape[1])
        return try output(attend(projected(x), n: n, t: t, additiveMask: additiveMask).reshaped([n, t, heads * headSize]))
    }

    /// `run` on packed real tokens (L, hidden): the products see only them; the attention itself
    /// runs on the (N, T) layout, where padded keys are masked out as before.
    func run(packed x: Tensor, layout: PackedTokens, output: Linear) throws -> Tensor {
        let z = try attend(layout.padded(projected(x)), n: layout.texts, t: layout.length, additiveMask: layout.additiveMask)
        return try output(layout.packed(z.reshaped([layout.texts * layout.length, heads * headSize])))
    }

    private func projected(_ x: Tensor) throws -> Tensor {
        let weight = try Tensor.cat([query.weight, key.weight, value.weight])
        let bias = try Tensor.cat([query.bias!, key.bias!, value.bias!])
        return try Functional.linear(x, weight: weight, bias: bias)
    }

    /// z (N, T, heads, d_head) from the stacked projections (…, 3 · hidden), laid out head by head
    /// in one copy; the scale and the mask enter the score product itself.
    private func attend(_ projected: Tensor, n: Int, t: Int, additiveMask: Tensor) throws -> Tensor {
        // (3, N, heads, T, d_head); the hooks see (N, T, heads, d_head) views of it.
        let stacked = try projected.reshaped([n, t, 3, heads, headSize]).permuted([2, 0, 3, 1, 4]).contiguous()
        func headMajor(_ hook: HookPoint, _ index: Int) throws -> Tensor {
            try hook(stacked[index].permuted([0, 2, 1, 3])).permuted([0, 2, 1, 3]).reshaped([n * heads, t, headSize])
        }
        let q = try headMajor(hookQ, 0), k = try headMajor(hookK, 1), v = try headMajor(hookV, 2)
        let scores = try Functional.batchedProduct(q, k.transposed(1, 2), scaledBy: 1 / Double(headSize).squareRoot(), adding: additiveMask)
        let pattern = try hookPattern(scores.softmax(dim: -1).reshaped([n, heads, t, t])).reshaped([n * heads, t, t])
        return try hookZ(pattern.matmul(v).reshaped([n, heads, t, headSize]).permuted([0, 2, 1, 3]))
    }

    override func forward(_ x: Tensor) throws -> Tensor { throw TorchError("self-attention is run by its layer, not called") }
}

/// A dense layer and a LayerNorm (`attention.output` and `output` in Hugging Face's names).
final class BERTDenseNorm: Module {
    let dense: Linear, norm: LayerNorm
    init(_ inputs: Int, _ outputs: Int, epsilon: Double, generator: Generator?) throws {
        dense = try Linear(inputs, outputs, generator: generator)
        norm = try LayerNorm([outputs], eps: epsilon)
    }
    override var children: [(name: String, module: Module)] { [("dense", dense), ("LayerNorm", norm)] }
    override func forward(_ x: Tensor) throws -> Tensor { throw TorchError("this sublayer is run by its layer, not called") }
}

typealias BERTOutput = BERTDenseNorm

/// The MLP's first half: dense then GELU (erf form).
final class BERTIntermediate: Module {
    let dense: Linear
    let mlpPre = HookPoint(), mlpPost = HookPoint()
    init(_ c: BERT.Configuration, generator: Generator?) throws { dense = try Linear(c.hiddenSize, c.intermediateSize, generator: generator) }
    override var children: [(name: String, module: Module)] { [("dense", dense), ("hook_mlp_pre", mlpPre), ("hook_mlp_post", mlpPost)] }
    override func forward(_ x: Tensor) throws -> Tensor { try mlpPost(mlpPre(dense(x)).gelu()) }
}
