import Foundation
import Testing
import TestSupport
@testable import DictionaryLearning
import Torch

@Suite("Feature splitting")
struct FeatureSplittingTests {
    /// Two features in 4 dimensions (e₁, e₂); a larger dictionary that splits e₁ into two
    /// directions 16.7° either side of it, keeps e₂, and adds e₄, new at that size.
    func dictionaries() throws -> (decoders: [Tensor], activations: [Tensor]) {
        let s = 1 / 1.09.squareRoot()
        let small = try Tensor([1, 0, 0, 0, 0, 1, 0, 0] as [Double], shape: [2, 4])
        let large = try Tensor([s, 0, 0.3 * s, 0, s, 0, -0.3 * s, 0, 0, 1, 0, 0, 0, 0, 0, 1] as [Double], shape: [4, 4])
        let first = try Tensor([1, 2, 0, 3, 0, 1, 0, 0, 5, 0, 1, 0] as [Double], shape: [2, 6]).t().contiguous()
        // Children 0 and 1 share parent 0's activation between them; child 2 is parent 1's at half scale.
        let second = try Tensor([1, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 2.5, 0, 0.5, 0, 0.3, 0, 0, 1, 0, 2] as [Double],
                                shape: [4, 6]).t().contiguous()
        return ([small, large], [first, second])
    }

    @Test("a split feature's children are found by decoder cosine and together fire where it fired; a new direction has no parent")
    func familiesOfAKnownSplit() throws {
        let (decoders, activations) = try dictionaries()
        let splitting = try FeatureSplitting(decoders: decoders, activations: activations)
        #expect(splitting.sizes == [2, 4])
        let level = splitting.levels[0]
        #expect(level.children[0].map(\.feature).sorted() == [0, 1])
        #expect(level.children[0].allSatisfy { abs($0.cosine - 1 / 1.09.squareRoot()) < 1e-12 })
        #expect(level.children[1].map(\.feature) == [2] && abs(level.children[1][0].cosine - 1) < 1e-12)
        #expect(abs(level.parentCosine[3]) < 1e-12)
        #expect(level.keptShare == 1 && level.splitShare == 0.5 && level.meanChildren == 1.5)
        #expect(level.familyCorrelation.allSatisfy { abs(($0 ?? 0) - 1) < 1e-12 })

        let strict = try FeatureSplitting(decoders: decoders, activations: activations, threshold: 0.99)
        #expect(strict.levels[0].children[0].isEmpty && strict.levels[0].familyCorrelation[0] == nil)
        #expect(strict.levels[0].keptShare == 0.5)
    }

    @Test("dictionaries out of size order, mismatched inputs and a bad threshold are refused with what to do")
    func refusals() throws {
        let (decoders, activations) = try dictionaries()
        #expect(errorMessage { _ = try FeatureSplitting(decoders: decoders.reversed(), activations: activations.reversed()) }?.contains("smallest first") == true)
        #expect(errorMessage { _ = try FeatureSplitting(decoders: decoders, activations: [activations[0], activations[1].slice(dim: 0, start: 0, end: 3)]) }?
            .contains("same inputs") == true)
        #expect(errorMessage { _ = try FeatureSplitting(decoders: decoders, activations: activations, threshold: 1.5) }?.contains("[0, 1]") == true)
        #expect(errorMessage { _ = try FeatureSplitting(decoders: [decoders[0]], activations: [activations[0]]) }?.contains("at least two") == true)
    }
}
