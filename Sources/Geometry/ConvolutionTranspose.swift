import NN
import Torch

/// The input gradients of a stride-1 convolution for many output gradients at once: one matrix
/// product over the output channels, then kH·kW shifted sums.
///
/// Why not the convolution's own backward: libtorch's oneDNN kernels pad a grey image's single
/// input channel to 16, so each Jacobian row through the demo CNN's first layer cost 16 times
/// the arithmetic it needs (about a sixth of `glassbox bench geometry`).
struct ConvolutionTranspose {
    let weight: Tensor          // (Cout, Cin, kH, kW)
    let padding: (Int, Int)

    /// The first layer of `model` when the Jacobian can start after it this way.
    init?(firstLayerOf model: Module) {
        guard let sequential = model as? Sequential, let convolution = sequential.layers.first as? Conv2d,
              convolution.stride == (1, 1), convolution.weight.rank == 4 else { return nil }
        (weight, padding) = (convolution.weight, convolution.padding)
    }

    /// Gradients (B, Cout, H′, W′) at the output → (B, Cin·H·W) at the input.
    func inputGradients(_ gradients: Tensor) throws -> Tensor {
        let (outputs, inputs, kH, kW) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let (b, h, w) = (gradients.shape[0], gradients.shape[2], gradients.shape[3])
        // spread[c, kh, kw] = Σ_o W[o, c, kh, kw] · g[o]: what input pixel (y + kh, x + kw) receives from output (y, x).
        let mixing = try weight.detached().permuted([1, 2, 3, 0]).reshaped([inputs * kH * kW, outputs])
        let spread = try mixing.matmul(gradients.reshaped([b, outputs, h * w])).reshaped([b, inputs, kH, kW, h, w])
        var padded: Tensor?
        for i in 0..<kH {
            for j in 0..<kW {
                let shifted = try spread.select(dim: 2, index: i).select(dim: 2, index: j).padded([j, kW - 1 - j, i, kH - 1 - i])
                padded = try padded.map { try $0 + shifted } ?? shifted
            }
        }
        let (height, width) = (h + kH - 1 - 2 * padding.0, w + kW - 1 - 2 * padding.1)
        return try padded!.slice(dim: 2, start: padding.0, end: padding.0 + height).slice(dim: 3, start: padding.1, end: padding.1 + width)
            .reshaped([b, inputs * height * width])
    }
}
