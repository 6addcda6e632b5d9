import Torch

/// A (bidirectional, stacked) LSTM (Hochreiter & Schmidhuber 1997) on libtorch's fused kernel,
/// batch first: input (N, T, features), output (N, T, directions × hidden), the hidden state at
/// every step (the module's hook point). Parameters are named as `torch.nn.LSTM` names them
/// (`weight_ih_l0`, `bias_hh_l1_reverse`, …) and initialised the same way, U(−1/√hidden, 1/√hidden).
///
/// Padded batches: call `run(_:lengths:)`, which packs the sequences so padding never enters the
/// recurrence (PyTorch's `pack_padded_sequence`); outputs at padded steps are 0.
public final class LSTM: Module {
    public let inputSize: Int, hiddenSize: Int, layers: Int, bidirectional: Bool
    let weights: [(name: String, tensor: Tensor)]

    public init(_ inputSize: Int, hiddenSize: Int, layers: Int = 1, bidirectional: Bool = false, generator: Generator? = nil) throws {
        guard inputSize > 0, hiddenSize > 0, layers > 0 else { throw TorchError("an LSTM needs positive sizes and at least one layer") }
        (self.inputSize, self.hiddenSize, self.layers, self.bidirectional) = (inputSize, hiddenSize, layers, bidirectional)
        let bound = 1 / Double(hiddenSize).squareRoot()
        func uniform(_ shape: [Int]) throws -> Tensor {
            try (Tensor.rand(shape, generator: generator) * (2 * bound) - bound).requiringGrad()
        }
        var weights: [(String, Tensor)] = []
        for layer in 0..<layers {
            for suffix in bidirectional ? ["", "_reverse"] : [""] {
                let inputs = layer == 0 ? inputSize : hiddenSize * (bidirectional ? 2 : 1)
                weights.append(("weight_ih_l\(layer)\(suffix)", try uniform([4 * hiddenSize, inputs])))
                weights.append(("weight_hh_l\(layer)\(suffix)", try uniform([4 * hiddenSize, hiddenSize])))
                weights.append(("bias_ih_l\(layer)\(suffix)", try uniform([4 * hiddenSize])))
                weights.append(("bias_hh_l\(layer)\(suffix)", try uniform([4 * hiddenSize])))
            }
        }
        self.weights = weights
    }

    public override var localParameters: [(name: String, tensor: Tensor)] { weights }

    /// All sequences full length.
    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, lengths: nil).output }

    /// With `lengths` (N) the real length of each sequence. The output goes through this module's
    /// hook point only when called as `lstm(x)`; `run` is for padded batches inside a model.
    public func run(_ x: Tensor, lengths: Tensor?) throws -> (output: Tensor, hidden: Tensor, cell: Tensor) {
        guard x.rank == 3, x.shape[2] == inputSize else {
            throw TorchError("this LSTM takes (batch, time, \(inputSize)) input, got \(x.shape)")
        }
        return try Functional.lstm(x, lengths: lengths, parameters: weights.map(\.tensor), layers: layers, bidirectional: bidirectional,
                                   batchFirst: true, hiddenSize: hiddenSize)
    }
}
