import NN
import Torch

/// A conceptizer learnt as an autoencoder: `encoder` maps inputs to concepts (N, k),
/// `decoder` maps concepts back to inputs, and the reconstruction error keeps the concepts
/// grounded in the data (SENN §3).
public final class ConceptAutoencoder: Module {
    public let encoder: Module
    public let decoder: Module

    public init(encoder: Module, decoder: Module) {
        self.encoder = encoder
        self.decoder = decoder
    }

    public override var children: [(name: String, module: Module)] {
        [("encoder", encoder), ("decoder", decoder)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try encoder(x)
    }

    /// The decoder's reconstruction of `x` from its concepts, in `x`'s shape.
    public func reconstruct(concepts: Tensor, like x: Tensor) throws -> Tensor {
        let y = try decoder(concepts)
        guard y.count == x.count else {
            throw TorchError("the decoder returned \(y.shape) for inputs of shape \(x.shape)")
        }
        return try y.reshaped(x.shape)
    }
}
