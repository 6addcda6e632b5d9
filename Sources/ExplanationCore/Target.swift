import Torch

/// Which output of each example to explain.
///
/// Classifiers return (N, classes); sequence models return (N, positions, classes), and their
/// targets name a position too (`atPosition`). Resolved targets are indices into each example's
/// flattened outputs, so every method handles both kinds the same way.
public indirect enum Target: Equatable, Sendable {
    /// The same class for every example.
    case index(Int)
    /// One class per example.
    case indices([Int])
    /// Each example's predicted (arg-max) class.
    case predicted
    /// For sequence outputs (N, positions, classes): `target` among the classes at one position per
    /// example (a single position applies to every example; negative positions count from the end).
    case atPositions([Int], Target)

    /// `target` at the same position of every example (the last token: -1).
    public static func atPosition(_ position: Int, _ target: Target) -> Target { .atPositions([position], target) }

    /// Indices (N) int64 into each example's flattened outputs, for a batch whose outputs are
    /// `outputs`: a class for (N, classes), position × classes + class for (N, positions, classes).
    public func resolve(outputs: Tensor) throws -> Tensor {
        let values: [Int]
        switch self {
        case .atPositions(let positions, let inner): return try Self.resolve(inner, at: positions, outputs: outputs)
        case .predicted: return try Self.classOutputs(outputs).argmax(dim: 1)
        case .index(let k): values = Array(repeating: k, count: try Self.classOutputs(outputs).shape[0])
        case .indices(let ks):
            guard ks.count == outputs.shape.first else { throw TorchError("\(ks.count) targets given for a batch of \(outputs.shape.first ?? 0)") }
            values = ks
        }
        let classes = try Self.classOutputs(outputs).shape[1]
        if let bad = values.first(where: { !(0..<classes).contains($0) }) {
            throw TorchError("target \(bad) is out of range: the model has \(classes) outputs (0...\(classes - 1))")
        }
        return try Tensor(values, shape: [values.count])
    }

    /// `outputs` when they are (N, classes).
    static func classOutputs(_ outputs: Tensor) throws -> Tensor {
        guard outputs.rank == 2 else {
            throw TorchError("attribution needs model outputs of shape (N, classes), got \(outputs.shape)\(outputs.rank == 3 ? "; for sequence outputs name a position: Target.atPosition(p, …)" : "")")
        }
        return outputs
    }

    /// `inner` among the classes at `positions` of sequence outputs, as flat indices position × classes + class.
    static func resolve(_ inner: Target, at positions: [Int], outputs: Tensor) throws -> Tensor {
        guard outputs.rank == 3 else {
            throw TorchError("a target at a position needs sequence outputs (N, positions, classes); the model returned \(outputs.shape)")
        }
        if case .atPositions = inner { throw TorchError("a target names one position, not a position within a position") }
        let (n, length, classes) = (outputs.shape[0], outputs.shape[1], outputs.shape[2])
        guard positions.count == 1 || positions.count == n else { throw TorchError("\(positions.count) positions given for a batch of \(n)") }
        let chosen = try (positions.count == 1 ? Array(repeating: positions[0], count: n) : positions).map { position in
            let resolved = position < 0 ? length + position : position
            guard (0..<length).contains(resolved) else {
                throw TorchError("position \(position) is out of range: the outputs have \(length) positions")
            }
            return resolved
        }
        let index = try Tensor(chosen.map { Int64($0) }, shape: [n, 1, 1]).expanded(to: [n, 1, classes])
        let atPosition = try outputs.gather(dim: 1, index: index).squeezed(dim: 1)
        return try inner.resolve(outputs: atPosition) + Tensor(chosen.map { Int64($0 * classes) }, shape: [n])
    }
}

/// The outputs at `targets` (indices into each row's flattened outputs, as `Target.resolve` gives them):
/// (M, classes) or (M, positions, classes), and (M) → (M).
package func selectTargets(_ outputs: Tensor, _ targets: Tensor) throws -> Tensor {
    guard outputs.rank >= 2, outputs.shape[0] == targets.count else {
        throw TorchError("model returned \(outputs.shape) for \(targets.count) inputs; expected (N, classes) or (N, positions, classes)")
    }
    let rows = outputs.rank == 2 ? outputs : try outputs.flattened(from: 1)
    return try rows.gather(dim: 1, index: targets.unsqueezed(dim: 1)).squeezed(dim: 1)
}
