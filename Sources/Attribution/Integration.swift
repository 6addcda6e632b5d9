import ExplanationCore
import Foundation
import Torch

/// Quadrature rules for path integrals over α ∈ [0, 1] (Integrated Gradients and its layer variants).
public enum IntegrationRule: String, CaseIterable, Sendable {
    case riemannLeft = "riemann_left"
    case riemannRight = "riemann_right"
    case riemannMiddle = "riemann_middle"
    case riemannTrapezoid = "riemann_trapezoid"
    case gaussLegendre = "gausslegendre"

    /// Nodes α and weights w with Σ w·g(α) ≈ ∫₀¹ g.
    ///
    /// The Riemann rules and Gauss–Legendre match Captum's. The trapezoid rule
    /// here uses spacing 1/(n−1) between its n nodes 0…1 so the weights sum to 1;
    /// Captum's uses 1/n, which scales every attribution by (n−1)/n.
    public func nodes(_ n: Int) throws -> (alphas: [Double], weights: [Double]) {
        guard n >= (self == .gaussLegendre ? 1 : 2) else {
            throw TorchError("\(rawValue) needs at least \(self == .gaussLegendre ? 1 : 2) steps, got \(n)")
        }
        let steps = Double(n)
        switch self {
        case .riemannLeft: return ((0..<n).map { Double($0) / steps }, Array(repeating: 1 / steps, count: n))
        case .riemannRight: return ((1...n).map { Double($0) / steps }, Array(repeating: 1 / steps, count: n))
        case .riemannMiddle: return ((0..<n).map { (Double($0) + 0.5) / steps }, Array(repeating: 1 / steps, count: n))
        case .riemannTrapezoid:
            var weights = Array(repeating: 1 / (steps - 1), count: n)
            weights[0] /= 2
            weights[n - 1] /= 2
            return ((0..<n).map { Double($0) / (steps - 1) }, weights)
        case .gaussLegendre:
            let (x, w) = legendreNodes(n)
            return (x.map { 0.5 * (1 + $0) }, w.map { 0.5 * $0 })
        }
    }
}

/// Gauss–Legendre nodes and weights on [−1, 1], by Newton's method on Pₙ
/// (Golub & Welsch give the same numbers; Newton is simpler at these sizes).
func legendreNodes(_ n: Int) -> ([Double], [Double]) {
    var nodes = [Double](repeating: 0, count: n)
    var weights = [Double](repeating: 0, count: n)
    for i in 0..<((n + 1) / 2) {
        var x = Foundation.cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
        var derivative = 0.0
        for _ in 0..<100 {
            var p0 = 1.0, p1 = x
            if n == 1 { p1 = x; p0 = 1 } else {
                for k in 2...n {
                    let p2 = ((2 * Double(k) - 1) * x * p1 - (Double(k) - 1) * p0) / Double(k)
                    p0 = p1
                    p1 = p2
                }
            }
            // p1 = Pₙ(x), p0 = Pₙ₋₁(x)
            derivative = Double(n) * (x * p1 - p0) / (x * x - 1)
            let step = p1 / derivative
            x -= step
            if abs(step) < 1e-15 { break }
        }
        nodes[i] = -x
        nodes[n - 1 - i] = x
        let w = 2 / ((1 - x * x) * derivative * derivative)
        weights[i] = w
        weights[n - 1 - i] = w
    }
    return (nodes, weights)
}
