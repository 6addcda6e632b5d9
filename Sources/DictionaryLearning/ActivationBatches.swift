import Torch

/// Where training batches of activations (N, d) come from.
public protocol ActivationBatches {
    var dimension: Int { get }
    func batch(_ size: Int, generator: Generator) throws -> Tensor
}

/// Activations held in memory (N, d): batches of rows drawn uniformly with replacement.
public struct ActivationMatrix: ActivationBatches {
    public let values: Tensor
    public var dimension: Int { values.shape[1] }

    public init(_ values: Tensor) throws {
        guard values.rank == 2, values.shape[0] >= 1 else { throw TorchError("activations must be (N, d) with N ≥ 1, got \(values.shape)") }
        guard try values.allFinite() else { throw TorchError("the activations hold NaN or infinite values") }
        self.values = try values.to(.float32)
    }

    public func batch(_ size: Int, generator: Generator) throws -> Tensor {
        try values.indexSelect(dim: 0, index: Tensor.randint(0, values.shape[0], shape: [size], generator: generator))
    }
}
