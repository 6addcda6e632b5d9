import ExplanationCore
import NN
import Torch

/// The Carlini–Wagner L2 attack (Carlini & Wagner 2017, "Towards evaluating the robustness of
/// neural networks"): minimise ‖x′ − x‖²₂ + c·f(x′) over x′ = low + (high − low)·(tanh(w) + 1)/2,
/// so x′ always stays in the valid range, with Adam on w. f is the logit margin
/// max(Z_label − max_{i≠label} Z_i, −κ) (untargeted) or max(max_{i≠t} Z_i − Z_t, −κ)
/// (targeted). Each row keeps its smallest successful x′; rows that never succeed are returned
/// unchanged. A binary search over c per row (the paper's, `searchSteps` > 1) trades success for
/// smaller perturbations. As in the authors' code, w starts at atanh of the input scaled by
/// 0.999999 (so pixels at the range's ends can move) and a round stops early when the loss has
/// not fallen by 0.01% over a tenth of its steps.
public struct CarliniWagnerL2: AdversarialAttack {
    public let model: Explainable
    /// c: the weight of the margin term (the starting value when searching).
    public var constant: Double
    /// κ: how far past the decision boundary a success must be.
    public var confidence: Double
    public var steps: Int
    public var learningRate: Double
    public var searchSteps: Int
    public var abortEarly = true
    public var inputRange: ClosedRange<Double>

    public init(_ model: Explainable, constant: Double = 1, confidence: Double = 0, steps: Int = 50, learningRate: Double = 0.01,
                searchSteps: Int = 1, inputRange: ClosedRange<Double> = 0...1) {
        (self.model, self.constant, self.confidence, self.steps, self.learningRate, self.searchSteps, self.inputRange) =
            (model, constant, confidence, steps, learningRate, searchSteps, inputRange)
    }

    public func perturb(_ inputs: Tensor, goal: AttackGoal) throws -> Tensor {
        guard constant > 0, constant.isFinite, confidence >= 0, confidence.isFinite else {
            throw TorchError("Carlini–Wagner needs c > 0 and κ ≥ 0, got c \(constant), κ \(confidence)")
        }
        guard steps >= 1, searchSteps >= 1, learningRate > 0, learningRate.isFinite else {
            throw TorchError("Carlini–Wagner needs steps ≥ 1, search steps ≥ 1 and a positive learning rate")
        }
        try goal.validate(inputs, model: model, range: inputRange)
        return try firstOrderInputLoop(inputElements: inputs.count) { try search(inputs, goal: goal) }
    }

    func search(_ inputs: Tensor, goal: AttackGoal) throws -> Tensor {
        let n = inputs.shape[0], rowShape = [-1] + Array(repeating: 1, count: inputs.rank - 1)
        let x = try inputs.detached()
        let low = inputRange.lowerBound, width = inputRange.upperBound - inputRange.lowerBound
        let start = try atanh((x - low) / width * 2.0 - 1.0)
        let classMask = try goal.classes.oneHot(classes: try noGrad { try model(x[0..<1]) }.shape[1]).to(.bool)
        var best = x, bestDistance = try Tensor.full([n], value: .infinity, dtype: .float64)
        var c = try Tensor.full([n], value: constant, dtype: x.dtype)
        var lower = try Tensor.zeros([n], dtype: .float64), upper = try Tensor.full([n], value: 1e10, dtype: .float64)
        for _ in 0..<searchSteps {
            let w = try start.clone().requiringGrad()
            let adam = Adam([w], learningRate: learningRate)
            var succeeded = try Tensor.zeros([n], dtype: .bool)
            var previous = Double.infinity
            for step in 0..<steps {
                let (candidate, distance, margin, total) = try withGrad { () -> (Tensor, Tensor, Tensor, Tensor) in
                    let candidate = try low + (w.tanh() + 1.0) * (width / 2)
                    let distance = try (candidate - x).flattened(from: 1).square().sum(dims: [1])
                    let margin = try self.margin(model(candidate), classMask: classMask, targeted: goal.isTargeted)
                    return (candidate, distance, margin, try (distance + c * margin.clamp(min: -confidence)).sum())
                }
                try w.setGrad(Tensor.grad(of: total, wrt: w))
                try adam.step()
                // A success: past the boundary by more than κ (margin < −κ), as the authors' compare().
                let success = try margin.detached().lt(-confidence)
                let improved = try success.logicalAnd(distance.detached().to(.float64).lt(bestDistance))
                bestDistance = try Tensor.where(improved, distance.detached().to(.float64), bestDistance)
                best = try Tensor.where(improved.reshaped(rowShape), candidate.detached(), best)
                succeeded = try succeeded.logicalOr(success)
                if abortEarly, step % max(steps / 10, 1) == 0 {
                    let value = try total.item()
                    if value > previous * 0.9999 { break }
                    previous = value
                }
            }
            guard searchSteps > 1 else { break }
            let found = try succeeded.to(.float64), cFloat = try c.to(.float64)
            upper = try Tensor.where(succeeded, Tensor.minimum(upper, cFloat), upper)
            lower = try Tensor.where(succeeded, lower, Tensor.maximum(lower, cFloat))
            let bisected = try (lower + upper) / 2.0
            let next = try Tensor.where(upper.lt(1e9), bisected, cFloat * 10.0)
            c = try (found * bisected + (1.0 - found) * next).to(x.dtype)
        }
        return best
    }

    /// Z_label − max of the other logits (untargeted), or max of the others − Z_target (targeted).
    func margin(_ logits: Tensor, classMask: Tensor, targeted: Bool) throws -> Tensor {
        let own = try (logits * classMask.to(logits.dtype)).sum(dims: [1])
        let others = try logits.maskedFill(classMask, with: -.infinity).max(dims: [1])
        return targeted ? try others - own : try own - others
    }

    /// atanh of values in [−1, 1], pulled in by 0.999999 so the ends stay finite.
    func atanh(_ t: Tensor) throws -> Tensor {
        let inside = try t * 0.999999
        return try ((1.0 + inside) / (1.0 - inside)).log() * 0.5
    }
}
