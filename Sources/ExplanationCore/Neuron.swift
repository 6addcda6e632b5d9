import NN
import Torch

/// One unit of a layer: a hook point and an index into its activation without the batch dimension.
public struct Neuron: Sendable, Equatable {
    public let hookPoint: String
    public let index: [Int]

    public init(_ hookPoint: String, _ index: [Int]) {
        self.hookPoint = hookPoint
        self.index = index
    }

    /// The unit's activation for every example: (N, …) → (N).
    package func select(from activation: Tensor) throws -> Tensor {
        let shape = Array(activation.shape.dropFirst())
        guard index.count == shape.count, zip(index, shape).allSatisfy({ (0..<$1).contains($0) }) else {
            throw TorchError("neuron index \(index) does not fit the activation shape \(shape) at '\(hookPoint)'")
        }
        let flat = zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
        return try activation.flattened(from: 1).select(dim: 1, index: flat)
    }

    /// d(unit activation)/d(input) for each row of `inputs`, in one forward and backward call.
    package func inputGradients(_ module: Module, _ inputs: Tensor) throws -> Tensor {
        let x = try inputs.detached().requiringGrad()
        var captured: Tensor?
        _ = try withGrad {
            try module.withHooks([(hookPoint, { activation, _ in captured = activation; return nil })]) { try module(x) }
        }
        guard let captured else { throw TorchError("hook point '\(hookPoint)' was not reached in the forward pass") }
        return try Tensor.grad(of: select(from: captured).sum(), wrt: x)
    }
}
