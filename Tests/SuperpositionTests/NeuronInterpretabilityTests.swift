import Foundation
import Testing
import TestSupport
@testable import Superposition
import Torch

/// The neuron tests against direct computations: per-token means and Pearson r in plain float64
/// loops (an independent reference), and hand-made neurons whose answers are known.
@Suite("Neuron interpretability")
struct NeuronInterpretabilityTests {
    /// Positions with tokens 0..<8; neuron 0 fires on token 5 only, neuron 1 is noise, neuron 2 grows with the token id.
    static func activations(positions: Int, seed: UInt64) throws -> (Tensor, Tensor) {
        let generator = Generator(seed: seed)
        let tokens = try Tensor.randint(0, 8, shape: [positions], generator: generator)
        let ids = try tokens.to(.float32)
        let noise = try Tensor.randn([positions, 3], generator: generator) * 0.05
        let columns = try Tensor.stack([ids.eq(5).to(.float32) * 2, Tensor.zeros([positions]), ids * 0.3], dim: 1)
        return (try columns + noise, tokens)
    }

    @Test("a neuron that fires on one token is monosemantic with simulation near 1; noise is not")
    func knownNeurons() throws {
        let explanation = try Self.activations(positions: 400, seed: 1), heldOut = try Self.activations(positions: 300, seed: 2)
        let result = try NeuronInterpretability(explanation: explanation, heldOut: heldOut, vocabularySize: 8, topK: 20)
        #expect(result.neurons[0].topToken == 5 && result.neurons[0].topTokenShare == 1)
        #expect(result.neurons[0].simulation! > 0.99)
        #expect(result.neurons[1].topTokenShare < 0.5 && Swift.abs(result.neurons[1].simulation!) < 0.2)
        // Neuron 2's largest values all sit on token 7, and the token explains it fully.
        #expect(result.neurons[2].topToken == 7 && result.neurons[2].simulation! > 0.99)
        #expect(Swift.abs(result.monosemanticFraction - 2.0 / 3) < 1e-12)
    }

    @Test("simulation scores equal per-token means and Pearson r computed directly, unseen tokens falling back to the mean")
    func simulationMatchesDirectComputation() throws {
        let generator = Generator(seed: 3)
        let tokens = try Tensor.randint(0, 6, shape: [50], generator: generator)  // tokens 6 and 7 unseen here
        let values = try Tensor.randn([50, 4], dtype: .float64, generator: generator)
        let heldTokens = try Tensor.randint(0, 8, shape: [40], generator: generator)
        let held = try Tensor.randn([40, 4], dtype: .float64, generator: generator)
        let scores = try NeuronInterpretability.simulationScores(explanation: (values, tokens), heldOut: (held, heldTokens), vocabularySize: 8)
        let t = try tokens.scalars(as: Int64.self), v = try values.scalars(as: Double.self)
        let ht = try heldTokens.scalars(as: Int64.self), hv = try held.scalars(as: Double.self)
        for neuron in 0..<4 {
            var sums: [Int64: Double] = [:], counts: [Int64: Double] = [:], total = 0.0
            for i in 0..<50 { sums[t[i], default: 0] += v[i * 4 + neuron]; counts[t[i], default: 0] += 1; total += v[i * 4 + neuron] }
            let predicted = ht.map { token in counts[token].map { sums[token]! / $0 } ?? total / 50 }
            let actual = (0..<40).map { hv[$0 * 4 + neuron] }
            let pm = predicted.reduce(0, +) / 40, am = actual.reduce(0, +) / 40
            let cov = zip(predicted, actual).map { ($0 - pm) * ($1 - am) }.reduce(0, +)
            let r = cov / (predicted.map { ($0 - pm) * ($0 - pm) }.reduce(0, +).squareRoot() * actual.map { ($0 - am) * ($0 - am) }.reduce(0, +).squareRoot())
            #expect(Swift.abs(scores[neuron]! - r) < 1e-12, "neuron \(neuron)")
        }
    }

    @Test("top-example overlap is 1 for the same activations and 0 when the order is reversed; bad shapes are refused")
    func overlap() throws {
        let a = try Tensor.randn([30, 5], generator: Generator(seed: 4))
        #expect(try NeuronInterpretability.topExampleOverlap(a, a, topK: 10) == Array(repeating: 1, count: 5))
        #expect(try NeuronInterpretability.topExampleOverlap(a, a * -1, topK: 10) == Array(repeating: 0, count: 5))
        #expect(throws: TorchError.self) { try NeuronInterpretability.topExampleOverlap(a, a.slice(dim: 0, start: 0, end: 10), topK: 3) }
        #expect(throws: TorchError.self) {
            try NeuronInterpretability(explanation: (a, Tensor.zeros([29], dtype: .int64)), heldOut: (a, Tensor.zeros([30], dtype: .int64)), vocabularySize: 2)
        }
    }
}
