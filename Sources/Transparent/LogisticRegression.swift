import Torch

/// Multinomial logistic regression, the transparent model whose weights can be read as images.
///
/// Minimises mean cross-entropy + penalty/(C·n) over weights W (classes × features) and an
/// unpenalised bias b, the objective of scikit-learn's `LogisticRegression` with
/// `multi_class="multinomial"`: L2 penalty ½‖W‖² with L-BFGS (Nocedal & Wright 2006); L1 penalty
/// ‖W‖₁ with FISTA and adaptive restarts (Beck & Teboulle 2009; O'Donoghue & Candès 2015).
/// Everything runs in float64 so the solution is accurate to the stated tolerance. Both solvers
/// start from zero and move along gradients whose class sums vanish, so the weights and the
/// bias keep summing to zero over classes (the parametrisation scikit-learn reports).
public struct LogisticRegression {
    public enum Penalty: String, CaseIterable, Codable, Sendable { case l2, l1 }

    public struct Settings: Codable, Sendable {
        /// Inverse regularisation strength (scikit-learn's C).
        public var inverseStrength: Double
        public var penalty: Penalty
        /// Largest gradient component (L2) or proximal-gradient component (L1) at convergence.
        public var tolerance: Double
        public var maxIterations: Int

        public init(inverseStrength: Double = 1, penalty: Penalty = .l2, tolerance: Double = 1e-6, maxIterations: Int = 20_000) {
            self.inverseStrength = inverseStrength
            self.penalty = penalty
            self.tolerance = tolerance
            self.maxIterations = maxIterations
        }
    }

    /// (classes, features), float64.
    public let weights: Tensor
    /// (classes), float64.
    public let bias: Tensor
    public let iterations: Int
    public let converged: Bool

    public var parameterCount: Int { weights.count + bias.count }

    /// `progress` hears each iteration's number and how far from converged it is (the largest
    /// gradient or proximal-step component, which falls to `settings.tolerance`).
    public static func fit(_ data: LabelledFeatures, settings: Settings = Settings(),
                           progress: ((_ iteration: Int, _ residual: Double) -> Void)? = nil) throws -> LogisticRegression {
        guard settings.inverseStrength > 0, settings.inverseStrength.isFinite else {
            throw TorchError("the inverse regularisation strength C must be positive and finite, got \(settings.inverseStrength)")
        }
        guard settings.tolerance > 0, settings.maxIterations > 0 else { throw TorchError("tolerance and iteration limit must be positive") }
        let x = try data.features.to(.float64)
        let targets = try data.labels.oneHot(classes: data.classes).to(.float64)
        let n = Double(data.count), classes = data.classes, width = data.featureCount
        let strength = 1 / (settings.inverseStrength * n)
        let split = classes * width

        /// Mean cross-entropy and its gradient at flat parameters [W, b].
        func crossEntropy(_ theta: Tensor) throws -> (value: Double, gradient: Tensor) {
            let w = try theta.slice(dim: 0, start: 0, end: split).reshaped([classes, width])
            let b = try theta.slice(dim: 0, start: split, end: split + classes)
            let logits = try x.matmul(w.t()) + b
            let logProbabilities = try logits.logSoftmax(dim: 1)
            let value = try -(logProbabilities * targets).sum().item() / n
            let residual = try (logProbabilities.exp() - targets) / n
            let gradient = try Tensor.cat([residual.t().matmul(x).flattened(), residual.sum(dims: [0])])
            return (value, gradient)
        }
        let start = try Tensor.zeros([split + classes], dtype: .float64)
        switch settings.penalty {
        case .l2:
            let penaltyMask = try Tensor.cat([Tensor.ones([split], dtype: .float64), Tensor.zeros([classes], dtype: .float64)])
            let solver = LBFGS(gradientTolerance: settings.tolerance, maxIterations: settings.maxIterations)
            let result = try solver.minimize(from: start, progress: progress) { theta in
                let (value, gradient) = try crossEntropy(theta)
                let weights = try theta * penaltyMask
                return (value + 0.5 * strength * (try (weights * weights).sum().item()), try gradient + weights * strength)
            }
            return try LogisticRegression(flat: result.parameters, classes: classes, width: width,
                                          iterations: result.iterations, converged: result.converged)
        case .l1:
            let result = try ProximalGradient(tolerance: settings.tolerance, maxIterations: settings.maxIterations)
                .minimize(from: start, penalized: split, strength: strength, progress: progress, smooth: crossEntropy)
            return try LogisticRegression(flat: result.parameters, classes: classes, width: width,
                                          iterations: result.iterations, converged: result.converged)
        }
    }

    private init(flat: Tensor, classes: Int, width: Int, iterations: Int, converged: Bool) throws {
        weights = try flat.slice(dim: 0, start: 0, end: classes * width).reshaped([classes, width])
        bias = try flat.slice(dim: 0, start: classes * width, end: classes * width + classes)
        self.iterations = iterations
        self.converged = converged
    }

    public init(weights: Tensor, bias: Tensor) throws {
        guard weights.rank == 2, bias.rank == 1, bias.count == weights.shape[0] else {
            throw TorchError("logistic regression needs weights (classes, features) and a bias (classes); got \(weights.shape) and \(bias.shape)")
        }
        self.weights = try weights.to(.float64)
        self.bias = try bias.to(.float64)
        iterations = 0
        converged = true
    }

    /// Class scores (N, classes) for features (N, F).
    public func logits(_ features: Tensor) throws -> Tensor {
        try checkedFeatures(features, count: weights.shape[1], dtype: .float64).matmul(weights.t()) + bias
    }

    public func predict(_ features: Tensor) throws -> Tensor { try logits(features).argmax(dim: 1) }
}

/// FISTA with backtracking and function-value restarts for smooth(θ) + strength·‖θ[..<penalized]‖₁.
struct ProximalGradient {
    var tolerance: Double
    var maxIterations: Int

    func minimize(from start: Tensor, penalized: Int, strength: Double, progress: ((Int, Double) -> Void)? = nil,
                  smooth: (Tensor) throws -> (value: Double, gradient: Tensor)) throws -> (parameters: Tensor, iterations: Int, converged: Bool) {
        let total = start.count
        let thresholds = try Tensor.cat([Tensor.full([penalized], value: strength, dtype: .float64),
                                         Tensor.zeros([total - penalized], dtype: .float64)])
        func penalty(_ theta: Tensor) throws -> Double {
            try (theta.slice(dim: 0, start: 0, end: penalized).abs().sum().item()) * strength
        }
        func prox(_ theta: Tensor, step: Double) throws -> Tensor {
            try theta.sign() * (theta.abs() - thresholds * step).clamp(min: 0)
        }
        var x = start, y = start, momentum = 1.0, lipschitz = 1.0
        var objective = try smooth(x).value + penalty(x)
        for iteration in 1...maxIterations {
            let (value, gradient) = try smooth(y)
            var next: Tensor
            while true {
                next = try prox(y - gradient / lipschitz, step: 1 / lipschitz)
                let difference = try next - y
                let bound = value + (try (gradient * difference).sum().item()) + 0.5 * lipschitz * (try (difference * difference).sum().item())
                if try smooth(next).value <= bound + 4 * Double.ulpOfOne * Swift.abs(value) { break }
                lipschitz *= 2
            }
            let nextObjective = try smooth(next).value + penalty(next)
            // Converged when the proximal-gradient step at y is below the tolerance.
            let residual = try ((next - y).abs().max().item()) * lipschitz
            progress?(iteration, residual)
            if residual <= tolerance { return (next, iteration, true) }
            if nextObjective > objective {
                // Restart: drop the momentum and step from the last iterate.
                momentum = 1
                y = x
                continue
            }
            let nextMomentum = (1 + (1 + 4 * momentum * momentum).squareRoot()) / 2
            y = try next + (next - x) * ((momentum - 1) / nextMomentum)
            x = next; momentum = nextMomentum; objective = nextObjective
        }
        return (x, maxIterations, false)
    }
}
