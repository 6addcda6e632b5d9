import NN
import ExplanationCore
import Torch

/// Integrated Gradients (Sundararajan, Taly & Yan 2017): (x − x′) · ∫₀¹ ∂f(x′ + α(x − x′))/∂x dα.
///
/// All path points of all examples are evaluated as one batch, split into chunks of
/// `internalBatchSize` rows (one forward and one backward call each). The
/// convergence delta measures completeness: Σ attributions − (f(x) − f(x′)).
public struct IntegratedGradients: AttributionMethod {
    public let model: Explainable
    public var baseline: Baseline = .zeros
    public var steps = 50
    public var rule: IntegrationRule = .gaussLegendre
    /// Rows per forward/backward call; nil evaluates all steps × examples at once.
    public var internalBatchSize: Int?
    public var name: String { "integrated-gradients" }

    public init(_ model: Explainable) {
        self.model = model
    }

    /// The call shape of DESIGN.md: options per call.
    public func attribute(_ inputs: Tensor, target: Target, baseline: Baseline, steps: Int = 50,
                          rule: IntegrationRule = .gaussLegendre, internalBatchSize: Int? = nil) throws -> AttributionResult {
        var method = self
        method.baseline = baseline
        method.steps = steps
        method.rule = rule
        method.internalBatchSize = internalBatchSize
        return try method.attribute(inputs, target: target)
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> AttributionResult {
        try validateInputs(inputs)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let reference = try baseline.resolve(for: inputs)
        // Through a first, affine layer the path is the straight path between its outputs, and
        // that layer's backward pass commutes with the average: it runs once, after it.
        let split = model.module?.affineSplit
        let (start, end) = try split.map { split in try noGrad { (try split.front(reference), try split.front(inputs)) } } ?? (reference, inputs)
        let differentiated: Explainable = split.map { ForwardFunction($0.rest) } ?? model
        let averagedAlongPath = try pathAverage(along: start, to: end, steps: steps, rule: rule, batchSize: internalBatchSize) { points, repeatedTargets, _ in
            try inputGradients(differentiated, points, targets: repeatedTargets)
        } targets: { targets }
        let averaged = try split?.frontTransposed(averagedAlongPath, inputsLike: inputs) ?? averagedAlongPath
        let values = try (inputs - reference) * averaged
        let delta = try sumPerExample(values) - (targetOutputs(model, inputs, targets: targets) - targetOutputs(model, reference, targets: targets))
        return AttributionResult(values: values, convergenceDelta: delta)
    }
}

/// The points start + α·(end − start) for every α, stacked α-major: (alphas · N, …).
func straightPath(from start: Tensor, to end: Tensor, at alphas: [Double]) throws -> Tensor {
    let featureShape = Array(end.shape.dropFirst())
    let alpha = try Tensor(alphas.map { Float($0) }, shape: [alphas.count, 1] + featureShape.map { _ in 1 }).to(end.dtype)
    return try (start.unsqueezed(dim: 0) + alpha * (end - start).unsqueezed(dim: 0)).reshaped([alphas.count * end.shape[0]] + featureShape)
}

/// Σₖ wₖ · g(start + αₖ (end − start)) for the rule's nodes.
///
/// The steps · N points (α-major: all examples at α₀, then all at α₁, …) are built and
/// evaluated `batchSize` rows at a time, so memory stays at one chunk. `gradient` gets a
/// chunk of points, their targets and the example each row belongs to, and returns one
/// gradient per row, of any trailing shape.
func pathAverage(along start: Tensor, to end: Tensor, steps: Int, rule: IntegrationRule, batchSize: Int?,
                 gradient: (_ points: Tensor, _ targets: Tensor, _ examples: Tensor) throws -> Tensor,
                 targets: () throws -> Tensor) throws -> Tensor {
    guard steps >= 1 else { throw TorchError("steps must be positive, got \(steps)") }
    let (alphas, weights) = try rule.nodes(steps)
    let n = end.shape[0]
    let rows = steps * n
    let chunk = max(1, batchSize ?? rows)
    let allTargets = try targets()
    let difference = try end - start
    guard try start.allFinite(), try difference.allFinite() else {
        throw TorchError("the path's ends hold NaN or infinite values (the baseline, or the activations along it)")
    }
    // With few examples, row r of the path (example r % n at node r / n) is one row of a product
    // picking that example's start and α times its difference: each chunk of points is written in
    // one pass (9 ms for 25 rows of 64×112×112 on 2 threads of an AVX-512 Xeon, 35 ms gathered). The
    // product costs 2n multiply-adds per value, so many examples take the gathered form. OpenBLAS on
    // one thread: its idle threads would spin through the model's passes that follow.
    let ends = n <= 16 ? try Tensor.cat([start, difference]).reshaped([2 * n, -1]) : nil
    let trailingOnes = Array(repeating: 1, count: end.rank - 1)
    var total: Tensor?
    for first in stride(from: 0, to: rows, by: chunk) {
        let range = first..<min(rows, first + chunk)
        let owners = range.map { $0 % n }
        let index = try Tensor(owners.map { Int64($0) }, shape: [owners.count])
        let points: Tensor
        if let ends {
            var coefficients = [Double](repeating: 0, count: range.count * 2 * n)
            for (row, r) in range.enumerated() {
                coefficients[row * 2 * n + r % n] = 1
                coefficients[row * 2 * n + n + r % n] = alphas[r / n]
            }
            points = try Torch.withSingleThreadedBLAS { try Tensor(coefficients, shape: [range.count, 2 * n]).to(end.dtype).matmul(ends) }
                .reshaped([range.count] + Array(end.shape.dropFirst()))
        } else {
            let alpha = try Tensor(range.map { alphas[$0 / n] }, shape: [owners.count] + trailingOnes).to(end.dtype)
            points = try start.indexSelect(dim: 0, index: index) + alpha * difference.indexSelect(dim: 0, index: index)
        }
        let grads = try gradient(points, allTargets.indexSelect(dim: 0, index: index), index)
        let zeros = try total ?? Tensor.zeros([n] + Array(grads.shape.dropFirst()), dtype: grads.dtype)
        total = try accumulateRows(grads, weights: range.map { weights[$0 / n] }, into: zeros, owners: owners)
        ProgressObserver.report("path points", done: range.upperBound, of: rows, unit: "rows")
    }
    return total!
}
