import Foundation
import Testing
import TestSupport
@testable import Geometry
import NN
import Torch

@Suite("Changes of basis and the invariance study")
struct InvarianceTests {
    @Test("a change of basis and its inverse multiply to the identity; orthogonal ones keep lengths, invertible ones stay within their condition number")
    func changeOfBasis() throws {
        let identity = try Tensor.eye(12, dtype: .float64)
        let orthogonal = try ChangeOfBasis(.orthogonal, dimension: 12, seed: 3)
        let invertible = try ChangeOfBasis(.invertible, dimension: 12, conditionNumber: 10, seed: 3)
        #expect(try maxDifference(orthogonal.matrix.matmul(orthogonal.inverse), identity) < 1e-12)
        #expect(try maxDifference(orthogonal.matrix.transposed(0, 1).matmul(orthogonal.matrix), identity) < 1e-12)
        #expect(try maxDifference(invertible.matrix.matmul(invertible.inverse), identity) < 1e-12)
        let singular = try invertible.matrix.svd().s.scalars(as: Double.self)
        #expect(singular.first! / singular.last! <= 10 + 1e-9 && singular.first! / singular.last! > 1.5)
    }

    @Test("neuron statistics: inactive share, excess kurtosis and top inputs of a known layer")
    func neuronStatistics() throws {
        // Neuron 0: (0, 0, 0, 4): deviations (−1, −1, −1, 3), m₂ = 3, m₄ = 21, excess kurtosis 21/9 − 3.
        // Neuron 1: (1, 2, 3, 4): m₂ = 1.25, m₄ = 2.5625, excess kurtosis 1.64 − 3.
        let stats = try NeuronStatistics(activations: try Tensor([0, 1, 0, 2, 0, 3, 4, 4] as [Float], shape: [4, 2]), top: 2)
        #expect(stats.inactiveShare == 3.0 / 8)
        #expect(abs(stats.meanExcessKurtosis - ((21.0 / 9 - 3) + (1.64 - 3)) / 2) < 1e-9)
        #expect(stats.topInputs[1] == [3, 2] && stats.topInputs[0].first == 3)
    }

    @Test("the reparametrised CNN computes the same function; rotation keeps the hidden layer's spectrum, any change keeps the crossing one, neuron measures move")
    func invariance() throws { try withExclusiveBLASSetting {
        let fixture = try CNNFixture()
        let inputs = try Tensor.rand([40, 1, 28, 28], generator: Generator(seed: 5))
        let outcomes = try InvarianceStudy(hidden: "9", next: "10", output: "10")
            .run(fixture.model, jacobianInputs: inputs.slice(dim: 0, start: 0, end: 4), activationInputs: inputs, seed: 9)
        #expect(outcomes.map(\.kind) == [.orthogonal, .invertible])
        let (orthogonal, invertible) = (outcomes[0], outcomes[1])
        // Float32 products through a 128-wide change of basis: a few 1e-7 of the output's scale.
        #expect(orthogonal.outputChange < 1e-4 && invertible.outputChange < 1e-4)
        #expect(orthogonal.intoLayer.largestSingularValueChange < 1e-4)
        #expect(orthogonal.acrossLayer.largestSingularValueChange < 1e-4 && invertible.acrossLayer.largestSingularValueChange < 1e-4)
        #expect(invertible.intoLayer.largestSingularValueChange > 1e-2)
        // The hidden layer is a ReLU: exact zeros before, almost none after a dense change of basis.
        #expect(orthogonal.before.inactiveShare > 0.2 && orthogonal.after.inactiveShare < 0.01)
        #expect(orthogonal.topInputOverlap < 1)
    } }
}
