import Foundation
import Testing
import TestSupport
@testable import DictionaryLearning
import Torch

/// Against numpy's correlations and SciPy's linear_sum_assignment (tools/make_sae_fixtures.py):
/// correlations to 1e-12 (float64 on both sides), optimal totals to 1e-9.
@Suite("Feature matching")
struct FeatureMatchingTests {
    static let reference = SparseAutoencoderTests.reference

    @Test("the Hungarian method finds SciPy's optimal total on a square and a rectangular problem, and every permutation's best on small ones")
    func assignment() throws {
        let scores = try Self.reference["assign.scores"]!.scalars(as: Double.self)
        let chosen = LinearAssignment.maximize(scores, rows: 30, columns: 30)
        #expect(Set(chosen).count == 30)
        let total = chosen.enumerated().map { scores[$0 * 30 + $1] }.reduce(0, +)
        #expect(Swift.abs(total - (try Self.reference["assign.total"]![0].item())) < 1e-9)
        // Brute force on random 4 × 6 problems.
        let generator = Generator(seed: 3)
        for _ in 0..<20 {
            let s = try Tensor.randn([24], dtype: .float64, generator: generator).scalars(as: Double.self)
            let found = LinearAssignment.maximize(s, rows: 4, columns: 6)
            var best = -Double.infinity
            for a in 0..<6 { for b in 0..<6 where b != a { for c in 0..<6 where c != a && c != b { for d in 0..<6 where ![a, b, c].contains(d) {
                best = Swift.max(best, s[a] + s[6 + b] + s[12 + c] + s[18 + d])
            } } } }
            #expect(Swift.abs(found.enumerated().map { s[$0 * 6 + $1] }.reduce(0, +) - best) < 1e-12)
        }
    }

    @Test("correlations, max correlations and the matching total agree with numpy and SciPy, a constant unit correlating 0; either order")
    func matching() throws {
        let a = Self.reference["match.a"]!, b = Self.reference["match.b"]!
        let correlations = try Self.reference["match.correlations"]!
        let result = try FeatureMatching(a, b)
        #expect(try maxDifference(Tensor(result.maxCorrelation, shape: [7]), correlations.max(dims: [1])) < 1e-12)
        let total = result.assignedCorrelation.reduce(0, +)
        #expect(Swift.abs(total - (try Self.reference["match.total"]![0].item())) < 1e-9)
        let reversed = try FeatureMatching(b, a)
        #expect(reversed.assignment.filter { $0 >= 0 }.count == 7 && reversed.maxCorrelation[8] == 0)
        #expect(Swift.abs(reversed.assignedCorrelation.reduce(0, +) - total) < 1e-9)
        #expect(throws: TorchError.self) { try FeatureMatching(a, b.slice(dim: 0, start: 0, end: 10)) }
    }
}
