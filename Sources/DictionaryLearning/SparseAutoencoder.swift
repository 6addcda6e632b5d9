import NN
import Torch

/// A sparse autoencoder for dictionary learning on a model's activations (Bricken et al. 2023,
/// "Towards Monosemanticity"): f = ReLU((x − b_dec)·W_enc + b_enc), x̂ = f·W_dec + b_dec, the
/// pre-encoder bias tied to the decoder bias. With `topK`, each input keeps only its k largest
/// pre-activations (Gao et al. 2024, "Scaling and evaluating sparse autoencoders").
///
/// Parameters carry SAELens's names and layouts (`W_enc` (d, F), `b_enc`, `W_dec` (F, d),
/// `b_dec`), and hook points its names (`hook_sae_acts_pre`, `hook_sae_acts_post`,
/// `hook_sae_recons`). The decoder's rows — the dictionary's directions — have unit norm: the L1
/// penalty on f then cannot be dodged by shrinking f and growing W_dec.
public final class SparseAutoencoder: Module {
    public struct Configuration: Codable, Sendable, Equatable {
        public var inputs: Int
        public var features: Int
        /// nil: ReLU with an L1 penalty; k: TopK.
        public var topK: Int?

        public init(inputs: Int, features: Int, topK: Int? = nil) {
            (self.inputs, self.features, self.topK) = (inputs, features, topK)
        }
    }

    public let configuration: Configuration
    public let encoderWeight: Tensor, encoderBias: Tensor, decoderWeight: Tensor, decoderBias: Tensor
    let actsPre = HookPoint(), actsPost = HookPoint(), recons = HookPoint()

    /// Random unit decoder rows, the encoder their transpose, zero biases.
    public init(_ c: Configuration, generator: Generator? = nil) throws {
        guard c.inputs >= 1, c.features >= 1 else { throw TorchError("an autoencoder needs at least one input and one feature") }
        if let k = c.topK, !(1...c.features).contains(k) { throw TorchError("TopK needs 1 ≤ k ≤ \(c.features) features, got \(k)") }
        configuration = c
        let directions = try Tensor.randn([c.features, c.inputs], generator: generator)
        let unit = try directions / directions.norm(dims: [1], keepDims: true).clamp(min: 1e-12)
        // Two separate leaves: the encoder is a copy, not a function of the decoder.
        encoderWeight = try unit.t().contiguous().requiringGrad()
        decoderWeight = try unit.requiringGrad()
        encoderBias = try Tensor.zeros([c.features]).requiringGrad()
        decoderBias = try Tensor.zeros([c.inputs]).requiringGrad()
        super.init()
        assignPaths()
    }

    public override var localParameters: [(name: String, tensor: Tensor)] {
        [("W_enc", encoderWeight), ("b_enc", encoderBias), ("W_dec", decoderWeight), ("b_dec", decoderBias)]
    }

    public override var children: [(name: String, module: Module)] {
        [("hook_sae_acts_pre", actsPre), ("hook_sae_acts_post", actsPost), ("hook_sae_recons", recons)]
    }

    /// Feature activations (N, F) for inputs (N, d).
    public func encode(_ x: Tensor) throws -> Tensor {
        guard x.rank == 2, x.shape[1] == configuration.inputs else {
            throw TorchError("the autoencoder takes activations (N, \(configuration.inputs)), got \(x.shape)")
        }
        // One fused product-and-bias (addmm) per layer: the (N, F) pre-activations are the largest tensors.
        let pre: Tensor
        if x.requiresGrad {
            pre = try actsPre(Functional.linear(x - decoderBias, weight: encoderWeight.t(), bias: encoderBias))
        } else {
            // b_dec's gradient through the encoder is −(Σₙ ∂L/∂preₙ)·W_encᵀ. Routed through the
            // bias (b_dec − b_dec: exactly zero, but carrying the gradient), it spares the (N, d)
            // gradient of x − b_dec, a product as large as the encoder's, when x needs none.
            let shift = try decoderBias - decoderBias.detached()
            let bias = try encoderBias - shift.unsqueezed(dim: 0).matmul(encoderWeight).squeezed(dim: 0)
            pre = try actsPre(Functional.linear((x - decoderBias).detached(), weight: encoderWeight.t(), bias: bias))
        }
        guard let k = configuration.topK else { return try actsPost(pre.relu()) }
        let (values, indices) = try pre.topk(k, dim: 1)
        return try actsPost(pre.zerosLike().scatter(dim: 1, index: indices, source: values.relu()))
    }

    public func decode(_ f: Tensor) throws -> Tensor { try Functional.linear(f, weight: decoderWeight.t(), bias: decoderBias) }

    public override func forward(_ x: Tensor) throws -> Tensor { try recons(decode(encode(x))) }

    /// Scales every decoder row back to unit length (after an optimiser step).
    public func normalizeDecoder() throws {
        try noGrad { try decoderWeight.copyInPlace(from: decoderWeight / decoderWeight.norm(dims: [1], keepDims: true).clamp(min: 1e-12)) }
    }

    /// Removes from W_dec's gradient its component along each (unit) row, so a step moves the
    /// directions rather than their lengths (Bricken et al.).
    public func removeParallelGradient() throws {
        guard let g = decoderWeight.grad else { return }
        try noGrad {
            let along = try (g * decoderWeight).sum(dims: [1], keepDims: true)
            try decoderWeight.setGrad(g - decoderWeight * along)
        }
    }
}
