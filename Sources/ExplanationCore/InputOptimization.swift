import Torch

/// Runs a loop of first-order input gradients (attacks, feature visualisation) with OpenBLAS on one
/// thread: its small products sit between libtorch's multi-threaded operators, and OpenBLAS's idle
/// threads would spin on sched_yield and take the cores from OpenMP's.
package func firstOrderInputLoop<R>(inputElements: Int, _ body: () throws -> R) throws -> R {
    try withoutActuallyEscaping(body) { body in
        let loop = { try Torch.withSingleThreadedBLAS { try GradientOrder.firstOrder(body) } }
        return inputElements <= smallBatchElements ? try Torch.withIntraOpThreads(1, loop) : try loop()
    }
}

/// Input batches up to this many values run their loops on one libtorch thread: libtorch's own
/// grain for splitting an elementwise operator (32,768). Below it, waking the idle (passive)
/// OpenMP threads for each operator costs more than they save — 16 demo-CNN digits visualised:
/// 7.3 ms a step on one thread, 13.1 ms on two (Intel Xeon with AVX-512, 2026-12-02); 64 digits:
/// two threads win (53 against 58 ms). Results are bit-identical either way on that machine.
package let smallBatchElements = 32_768

/// Projected gradient ascent or descent over a batch of inputs: the loop shared by stability
/// estimates (local Lipschitz ascent), adversarial attacks (FGSM/PGD, Madry et al. 2018) and
/// feature visualisation. Rows are independent: the objective gives one value per row and the
/// gradient of their sum moves each row by its own gradient.
public struct InputOptimization {
    public enum Direction: Sendable { case ascent, descent }

    /// How a gradient becomes a step.
    public enum Step {
        /// `size` · sign(g): the L∞ steepest step (FGSM, PGD-L∞).
        case signed(size: Double)
        /// `size` · g / ‖g‖₂ per row: the L2 steepest step (PGD-L2).
        case normalized(size: Double)
        /// `rate` · g.
        case plain(rate: Double)
    }

    /// Where the inputs must stay; applied after every step, in order.
    public enum Constraint {
        /// Every value in [low, high] (a valid pixel range, or an offset's L∞ radius).
        case range(low: Double, high: Double)
        /// Within `radius` of `center` in L∞ (same shape as the inputs).
        case lInfinityBall(center: Tensor, radius: Double)
        /// Within `radius` of `center` in L2, per row.
        case l2Ball(center: Tensor, radius: Double)
    }

    public var direction: Direction
    public var step: Step
    public var steps: Int
    public var constraints: [Constraint]

    public init(_ direction: Direction, step: Step, steps: Int, constraints: [Constraint] = []) {
        self.direction = direction
        self.step = step
        self.steps = steps
        self.constraints = constraints
    }

    /// Runs the loop from `start`: `steps` updates, each from one evaluation of `objective`
    /// (N inputs → N values). With `observe`, the end point is evaluated too and every evaluation
    /// is passed to it with its point (both detached). Returns the last point.
    @discardableResult
    public func run(from start: Tensor, objective: (Tensor) throws -> Tensor,
                    observe: ((_ point: Tensor, _ values: Tensor) throws -> Void)? = nil) throws -> Tensor {
        guard steps >= 0 else { throw TorchError("an input optimisation needs 0 or more steps, got \(steps)") }
        var point = try start.detached()
        for iteration in 0...steps {
            guard iteration < steps || observe != nil else { break }
            let variable = try point.requiringGrad()
            let values = try withGrad { try objective(variable) }
            guard values.rank == 1, values.shape[0] == start.shape[0] else {
                throw TorchError("the objective returned shape \(values.shape); expected one value per input row (\(start.shape[0]))")
            }
            try observe?(point, values.detached())
            guard iteration < steps else { break }
            let gradient = try Tensor.grad(of: values.sum(), wrt: variable)
            let moved = try point + (direction == .ascent ? stepTensor(gradient) : -stepTensor(gradient))
            point = try project(moved).detached()
        }
        return point
    }

    func stepTensor(_ gradient: Tensor) throws -> Tensor {
        switch step {
        case .signed(let size): return try gradient.sign() * size
        case .plain(let rate): return try gradient * rate
        case .normalized(let size):
            let norms = try gradient.flattened(from: 1).norm(dims: [1]).clamp(min: 1e-12)
            return try gradient / norms.reshaped([-1] + Array(repeating: 1, count: gradient.rank - 1)) * size
        }
    }

    /// Applies the constraints, in order.
    public func project(_ x: Tensor) throws -> Tensor {
        try constraints.reduce(x) { try $1.applied(to: $0) }
    }
}

extension InputOptimization.Constraint {
    /// The nearest point of `x` (per row) that satisfies this constraint.
    public func applied(to x: Tensor) throws -> Tensor {
        switch self {
        case .range(let low, let high): return try x.clamp(min: low, max: high)
        case .lInfinityBall(let center, let radius): return try center + (x - center).clamp(min: -radius, max: radius)
        case .l2Ball(let center, let radius):
            let offset = try x - center
            let norms = try offset.flattened(from: 1).norm(dims: [1])
            let scale = try (norms.clamp(min: radius) / radius).reciprocal()
            return try center + offset * scale.reshaped([-1] + Array(repeating: 1, count: x.rank - 1))
        }
    }
}
