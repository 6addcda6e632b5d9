import Torch

/// Which output of each example to explain.
public enum Target: Equatable, Sendable {
    /// The same class for every example.
    case index(Int)
    /// One class per example.
    case indices([Int])
    /// Each example's predicted (arg-max) class.
    case predicted

    /// Class indices (N) int64 for a batch whose outputs are `outputs` (N, classes).
    public func resolve(outputs: Tensor) throws -> Tensor {
        guard outputs.rank == 2 else {
            throw TorchError("attribution needs model outputs of shape (N, classes), got \(outputs.shape)")
        }
        let (n, classes) = (outputs.shape[0], outputs.shape[1])
        let values: [Int]
        switch self {
        case .index(let k): values = Array(repeating: k, count: n)
        case .indices(let ks):
            guard ks.count == n else { throw TorchError("\(ks.count) targets given for a batch of \(n)") }
            values = ks
        case .predicted: return try outputs.argmax(dim: 1)
        }
        if let bad = values.first(where: { !(0..<classes).contains($0) }) {
            throw TorchError("target \(bad) is out of range: the model has \(classes) outputs (0...\(classes - 1))")
        }
        return try Tensor(values, shape: [n])
    }
}

/// The outputs at `targets`: (M, classes) and (M) → (M).
package func selectTargets(_ outputs: Tensor, _ targets: Tensor) throws -> Tensor {
    guard outputs.rank == 2, outputs.shape[0] == targets.count else {
        throw TorchError("model returned \(outputs.shape) for \(targets.count) inputs; expected (N, classes)")
    }
    return try outputs.gather(dim: 1, index: targets.unsqueezed(dim: 1)).squeezed(dim: 1)
}
