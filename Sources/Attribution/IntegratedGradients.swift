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
                          rule: IntegrationRule = .gaussLegendre, internalBatchSize: Int? = nil) throws -> Attribution {
        var method = self
        method.baseline = baseline
        method.steps = steps
        method.rule = rule
        method.internalBatchSize = internalBatchSize
        return try method.attribute(inputs, target: target)
    }

    public func attribute(_ inputs: Tensor, target: Target) throws -> Attribution {
        try validateInputs(inputs)
        let targets = try resolveTargets(target, model: model, inputs: inputs)
        let reference = try baseline.resolve(for: inputs)
        let averaged = try pathAverage(along: reference, to: inputs, steps: steps, rule: rule, batchSize: internalBatchSize) { points, repeatedTargets in
            try inputGradients(model, points, targets: repeatedTargets, batchSize: internalBatchSize)
        } targets: { targets }
        let values = try (inputs - reference) * averaged
        let delta = try sumPerExample(values) - (targetOutputs(model, inputs, targets: targets) - targetOutputs(model, reference, targets: targets))
        return Attribution(values: values, convergenceDelta: delta)
    }
}

/// Σₖ wₖ · g(start + αₖ (end − start)) for the rule's nodes, with every node of every
/// example in one batch (k-major: all examples at α₀, then all at α₁, …).
///
/// `gradient` gets the stacked points (steps·N, …) and the targets repeated to match;
/// it returns one gradient per row, of any trailing shape.
/// The points start + α·(end − start) for every α, stacked α-major: (alphas · N, …).
func straightPath(from start: Tensor, to end: Tensor, at alphas: [Double]) throws -> Tensor {
    let featureShape = Array(end.shape.dropFirst())
    let alpha = try Tensor(alphas.map { Float($0) }, shape: [alphas.count, 1] + featureShape.map { _ in 1 }).to(end.dtype)
    return try (start.unsqueezed(dim: 0) + alpha * (end - start).unsqueezed(dim: 0)).reshaped([alphas.count * end.shape[0]] + featureShape)
}

func pathAverage(along start: Tensor, to end: Tensor, steps: Int, rule: IntegrationRule, batchSize: Int?,
                 gradient: (Tensor, Tensor) throws -> Tensor, targets: () throws -> Tensor) throws -> Tensor {
    guard steps >= 1 else { throw TorchError("steps must be positive, got \(steps)") }
    let (alphas, weights) = try rule.nodes(steps)
    let n = end.shape[0]
    let points = try straightPath(from: start, to: end, at: alphas)
    let repeated = try targets().repeated([steps])
    let grads = try gradient(points, repeated)
    let perStep = try grads.reshaped([steps, n] + Array(grads.shape.dropFirst()))
    let weight = try Tensor(weights.map { Float($0) }, shape: [steps, 1] + Array(repeating: 1, count: perStep.rank - 2)).to(grads.dtype)
    return try (perStep * weight).sum(dims: [0])
}
