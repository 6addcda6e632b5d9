import ExplanationCore
import Torch

/// What an attack does to each input's prediction.
public enum AttackGoal {
    /// Untargeted: any class but the input's label (the cross-entropy at the label goes up).
    case misclassify(labels: Tensor)
    /// Targeted: one chosen class per input (the cross-entropy at that class goes down).
    case reach(classes: Tensor)

    /// The labels to leave or the classes to reach, one per input (int64).
    public var classes: Tensor {
        switch self {
        case .misclassify(let labels): return labels
        case .reach(let classes): return classes
        }
    }

    public var isTargeted: Bool {
        if case .reach = self { return true }
        return false
    }

    /// Ascent on the cross-entropy at the label, or descent at the target.
    var direction: InputOptimization.Direction { isTargeted ? .descent : .ascent }

    /// The cross-entropy of each row's logits at its class.
    func crossEntropy(_ logits: Tensor) throws -> Tensor {
        try Functional.crossEntropy(logits, target: classes, reduction: .none)
    }

    /// Which rows' predicted classes (N) meet the goal: not the label, or the target.
    public func isMet(byPredictions predicted: Tensor) throws -> Tensor {
        isTargeted ? try predicted.eq(classes) : try predicted.ne(classes)
    }

    /// The same goal for rows `range` of the batch.
    public func rows(_ range: Range<Int>) throws -> AttackGoal {
        switch self {
        case .misclassify(let labels): return .misclassify(labels: try labels[range])
        case .reach(let classes): return .reach(classes: try classes[range])
        }
    }

    /// Checks a batch and this goal before an attack: floating-point inputs in `range`, finite,
    /// one class per row that the model's outputs have.
    func validate(_ inputs: Tensor, model: Explainable, range: ClosedRange<Double>) throws {
        guard inputs.dtype.isFloatingPoint else { throw TorchError("an attack moves the inputs, so they must be floating point, got \(inputs.dtype)") }
        guard inputs.rank >= 2, inputs.shape[0] > 0 else { throw TorchError("attack inputs need a non-empty batch dimension: got shape \(inputs.shape)") }
        guard try inputs.allFinite() else { throw TorchError("attack inputs contain NaN or infinite values") }
        guard range.lowerBound < range.upperBound else { throw TorchError("the valid input range \(range) is empty") }
        let low = try inputs.min().item(), high = try inputs.max().item()
        guard low >= range.lowerBound, high <= range.upperBound else {
            throw TorchError("attack inputs lie in [\(low), \(high)], outside the valid range [\(range.lowerBound), \(range.upperBound)]; attack the images before normalisation (normalise inside the model) or set the range")
        }
        guard classes.dtype == .int64, classes.shape == [inputs.shape[0]] else {
            throw TorchError("an attack needs one int64 class per input: \(inputs.shape[0]) inputs, classes of shape \(classes.shape) (\(classes.dtype))")
        }
        let outputs = try noGrad { try model(try inputs[0..<1]) }
        guard outputs.rank == 2 else { throw TorchError("attacks need a classifier with outputs (N, classes); this model gives \(outputs.shape)") }
        let smallest = try classes.min().itemInt(), largest = try classes.max().itemInt()
        guard smallest >= 0, largest < outputs.shape[1] else {
            throw TorchError("attack classes must lie in 0..<\(outputs.shape[1]) (the model's outputs); got \(smallest)…\(largest)")
        }
    }
}
