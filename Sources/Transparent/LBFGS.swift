import Torch

/// Limited-memory BFGS (Nocedal & Wright, "Numerical Optimization", 2006, algorithms 7.4 and 7.5)
/// over one flat float64 parameter tensor, with a backtracking Armijo line search that
/// tolerates float64 round-off near the optimum. Stops when the largest gradient component is
/// at most `gradientTolerance`.
struct LBFGS {
    var memory = 10
    var gradientTolerance: Double
    var maxIterations: Int

    struct Result {
        let parameters: Tensor
        let value: Double
        let iterations: Int
        let gradientMaximum: Double
        var converged: Bool
    }

    /// `objective` returns the value and gradient at a point; `progress` hears each iteration's
    /// number and largest gradient component.
    func minimize(from start: Tensor, progress: ((Int, Double) -> Void)? = nil,
                  objective: (Tensor) throws -> (value: Double, gradient: Tensor)) throws -> Result {
        var x = start
        var (f, g) = try objective(x)
        var steps: [(s: Tensor, y: Tensor, rho: Double)] = []
        var iteration = 0
        var gradientMaximum = try g.abs().max().item()
        while gradientMaximum > gradientTolerance, iteration < maxIterations {
            iteration += 1
            var q = g
            var alphas: [Double] = []
            for pair in steps.reversed() {
                let alpha = pair.rho * (try (pair.s * q).sum().item())
                alphas.append(alpha)
                q = try q - pair.y * alpha
            }
            if let last = steps.last {
                q = try q * (1 / (last.rho * (try (last.y * last.y).sum().item())))
            } else {
                q = try q / Swift.max(try g.abs().sum().item(), 1)
            }
            for (pair, alpha) in zip(steps, alphas.reversed()) {
                let beta = pair.rho * (try (pair.y * q).sum().item())
                q = try q + pair.s * (alpha - beta)
            }
            let direction = try q * -1
            let slope = try (g * direction).sum().item()
            guard slope < 0 else { steps.removeAll(); continue }
            var t = 1.0, accepted = false
            var next = x, nextValue = f, nextGradient = g
            for _ in 0..<60 {
                next = try x + direction * t
                (nextValue, nextGradient) = try objective(next)
                if nextValue <= f + 1e-4 * t * slope + 4 * Double.ulpOfOne * Swift.abs(f) { accepted = true; break }
                t *= 0.5
            }
            guard accepted else { break }
            let s = try next - x, y = try nextGradient - g
            let curvature = try (s * y).sum().item()
            if curvature > 1e-300 {
                steps.append((s, y, 1 / curvature))
                if steps.count > memory { steps.removeFirst() }
            }
            x = next; f = nextValue; g = nextGradient
            gradientMaximum = try g.abs().max().item()
            progress?(iteration, gradientMaximum)
        }
        return Result(parameters: x, value: f, iterations: iteration, gradientMaximum: gradientMaximum,
                      converged: gradientMaximum <= gradientTolerance)
    }
}
