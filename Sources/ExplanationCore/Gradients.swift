import Torch

/// Gradient of the target outputs with respect to a batch of inputs: one forward and one
/// backward call; `targets` has one class per row of `inputs`.
package func inputGradients(_ model: Explainable, _ inputs: Tensor, targets: Tensor) throws -> Tensor {
    let x = try inputs.detached().requiringGrad()
    // A first-order gradient: models may use kernels without double-backward rules.
    return try GradientOrder.firstOrder {
        let selected = try withGrad { try selectTargets(model(x), targets) }
        return try Tensor.grad(of: selected.sum(), wrt: x)
    }
}

/// Outputs at the targets, without recording gradients, in chunks of `batchSize` rows.
public func targetOutputs(_ model: Explainable, _ inputs: Tensor, targets: Tensor, batchSize: Int? = nil) throws -> Tensor {
    let n = inputs.shape[0]
    let chunk = max(1, batchSize ?? n)
    var parts: [Tensor] = []
    try noGrad {
        for start in stride(from: 0, to: n, by: chunk) {
            let end = min(n, start + chunk)
            parts.append(try selectTargets(model(inputs.slice(dim: 0, start: start, end: end)),
                                           targets.slice(dim: 0, start: start, end: end)))
        }
    }
    return parts.count == 1 ? parts[0] : try Tensor.cat(parts)
}

/// Resolves the target classes for `inputs` (one forward pass only for `.predicted`).
package func resolveTargets(_ target: Target, model: Explainable, inputs: Tensor) throws -> Tensor {
    if case .predicted = target {
        return try noGrad { try target.resolve(outputs: model(inputs)) }
    }
    guard inputs.rank >= 1, inputs.shape[0] > 0 else { throw TorchError("attribution needs a non-empty batch, got \(inputs.shape)") }
    // Validate the range against the real number of outputs with one example.
    let one = try noGrad { try model(inputs.slice(dim: 0, start: 0, end: 1)) }
    let fake = try Tensor.zeros([inputs.shape[0]] + Array(one.shape.dropFirst()))
    return try target.resolve(outputs: fake)
}

/// Checks the common preconditions: a batch of finite floats, or of integers (token ids) for
/// methods that never move the inputs themselves (layer methods at an embedding).
package func validateInputs(_ inputs: Tensor, allowingIntegers: Bool = false) throws {
    guard inputs.rank >= 1, inputs.shape[0] > 0 else { throw TorchError("inputs need a non-empty batch dimension: got shape \(inputs.shape)") }
    if !inputs.dtype.isFloatingPoint {
        guard allowingIntegers else {
            throw TorchError("this method moves the inputs, so they must be floating point, got \(inputs.dtype); for token ids, explain the embedding layer with layer-integrated-gradients, layer-activation or grad-cam, or replace tokens with occlusion, feature-ablation, shapley-value-sampling, kernel-shap or lime and an integer baseline")
        }
        return
    }
    guard inputs.rank >= 2 else { throw TorchError("inputs need a batch dimension: got shape \(inputs.shape)") }
    guard try inputs.allFinite() else { throw TorchError("inputs contain NaN or infinite values") }
}

/// Sums every dimension but the first: (N, …) → (N).
package func sumPerExample(_ t: Tensor) throws -> Tensor {
    t.rank <= 1 ? t : try t.sum(dims: Array(1..<t.rank))
}

/// Adds each row of `rows` (R, …), times its weight (1 without weights), into row `owners[r]` of
/// `total` (N, …). One matrix product per owner over that owner's rows (a strided view when they
/// are evenly spaced, as in path and noise batches): each row is read once, where a scatter ran
/// element by element (20 ms for 25 rows of 64×112×112 on 2 threads of an AVX-512 Xeon, 5–8 as
/// products), and a non-finite row reaches only its own owner's total. OpenBLAS runs on one thread:
/// its idle threads would spin through the model's passes that follow.
package func accumulateRows(_ rows: Tensor, weights: [Double]? = nil, into total: Tensor, owners: [Int]) throws -> Tensor {
    let flat = try rows.reshaped([rows.shape[0], -1])
    let groups = Dictionary(grouping: owners.indices, by: { owners[$0] }).sorted { $0.key < $1.key }
    let sums = try Torch.withSingleThreadedBLAS { try groups.map { _, mine in
        let step = mine.count > 1 ? mine[1] - mine[0] : 1
        let evenlySpaced = zip(mine, mine.dropFirst()).allSatisfy { $1 - $0 == step }
        let selected = evenlySpaced ? try flat.slice(dim: 0, start: mine[0], end: mine.last! + 1, step: step)
                                    : try flat.indexSelect(dim: 0, index: Tensor(mine.map { Int64($0) }, shape: [mine.count]))
        return try Tensor(mine.map { weights?[$0] ?? 1 }, shape: [1, mine.count]).to(rows.dtype).matmul(selected)
    } }
    let summed = try Tensor.cat(sums).reshaped([groups.count] + Array(total.shape.dropFirst()))
    let index = try Tensor(groups.map { Int64($0.key) }, shape: [groups.count] + Array(repeating: 1, count: total.rank - 1)).expanded(to: summed.shape)
    return try total.scatter(dim: 0, index: index, source: summed, accumulate: true)
}
