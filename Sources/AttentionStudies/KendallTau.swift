import Foundation

/// Kendall's rank correlation τ-b between two equally long lists, with its two-sided p-value for
/// the hypothesis of no association, computed as SciPy's `kendalltau` does by default: the exact
/// null distribution when neither list has ties and n ≤ 33 (or nearly all pairs agree), else the
/// normal approximation with the tie-corrected variance (Kendall 1945). Jain & Wallace (2019)
/// compare attention with other importance measures by this τ.
public struct KendallTau: Codable, Sendable, Equatable {
    public var tau: Double
    public var pValue: Double

    /// nil when a list is constant (τ is undefined) or shorter than 2.
    public init?(_ x: [Double], _ y: [Double]) {
        precondition(x.count == y.count, "Kendall's τ needs lists of one length")
        let n = x.count
        guard n >= 2 else { return nil }
        var concordant = 0, discordant = 0, tiedX = 0, tiedY = 0
        for i in 0..<n {
            for j in (i + 1)..<n {
                let dx = x[i] - x[j], dy = y[i] - y[j]
                if dx == 0 { tiedX += 1 }
                if dy == 0 { tiedY += 1 }
                if dx != 0, dy != 0 {
                    if (dx > 0) == (dy > 0) { concordant += 1 } else { discordant += 1 }
                }
            }
        }
        let pairs = n * (n - 1) / 2
        guard tiedX < pairs, tiedY < pairs else { return nil }
        let difference = Double(concordant - discordant)
        tau = Swift.max(-1, Swift.min(1, difference / (Double(pairs - tiedX).squareRoot() * Double(pairs - tiedY).squareRoot())))
        if tiedX == 0, tiedY == 0, n <= 33 || Swift.min(discordant, pairs - discordant) <= 1 {
            pValue = Self.exactPValue(n: n, fewerPairs: Swift.min(discordant, pairs - discordant))
        } else {
            let (x0, x1) = Self.tieSums(x), (y0, y1) = Self.tieSums(y)
            let m = Double(n * (n - 1))
            let variance = (m * Double(2 * n + 5) - x1 - y1) / 18 + 2 * Double(tiedX) * Double(tiedY) / m
                + (n > 2 ? x0 * y0 / (9 * m * Double(n - 2)) : 0)
            pValue = erfc(Swift.abs(difference) / variance.squareRoot() / 2.0.squareRoot())
        }
    }

    /// Σ t(t−1)(t−2) and Σ t(t−1)(2t+5) over groups of t equal values.
    static func tieSums(_ values: [Double]) -> (Double, Double) {
        var cubic = 0.0, spread = 0.0
        for group in Dictionary(grouping: values, by: { $0 }).values where group.count > 1 {
            let t = Double(group.count)
            cubic += t * (t - 1) * (t - 2)
            spread += t * (t - 1) * (2 * t + 5)
        }
        return (cubic, spread)
    }

    /// P(at most `fewerPairs` inversions) × 2 under a uniformly random permutation of n, capped at 1:
    /// the inversion counts' distribution (Mahonian numbers) by dynamic programming, in units of n!.
    static func exactPValue(n: Int, fewerPairs c: Int) -> Double {
        var counts = [1.0] + [Double](repeating: 0, count: c)   // permutations of 1 element
        var factorial = 1.0
        for size in 2...n {
            factorial *= Double(size)
            // Inserting the size-th element adds 0 … size − 1 inversions.
            var next = [Double](repeating: 0, count: c + 1)
            var window = 0.0
            for k in 0...c {
                window += counts[k]
                if k - size >= 0 { window -= counts[k - size] }
                next[k] = window
            }
            counts = next
        }
        return Swift.min(1, 2 * counts.reduce(0, +) / factorial)
    }
}
