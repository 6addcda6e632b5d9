import Foundation
import Torch

/// Automatic tests of whether a language model's MLP neurons each respond to one thing, for
/// comparing activation functions as Elhage et al. (2022, "Softmax Linear Units") do by hand.
/// Two measures per neuron, both about the token at the neuron's position:
///
/// - Top-token share: of the neuron's `topK` largest activations on the explanation texts, the
///   share that fall on its most frequent token there. A neuron is called monosemantic when the
///   share reaches `threshold` (0.8 by default): its strongest responses are one token.
/// - Simulation score: predict the neuron's activation on held-out texts from the mean activation
///   per token on the explanation texts (unseen tokens get the overall mean) and correlate with
///   the true activation (Pearson r). A stand-in for Bills et al.'s (2023) language-model
///   simulator that needs no model: it credits exactly the behaviour the current token explains.
///
/// Activations (positions, neurons) with the token at each position (positions) int64.
public struct NeuronInterpretability: Codable, Sendable {
    public struct Neuron: Codable, Sendable {
        public var topToken: Int
        public var topTokenShare: Double
        /// nil when the neuron or its simulation is constant on the held-out texts.
        public var simulation: Double?
    }

    public var neurons: [Neuron]
    public var topK: Int
    public var threshold: Double

    public init(explanation: (activations: Tensor, tokens: Tensor), heldOut: (activations: Tensor, tokens: Tensor), vocabularySize: Int,
                topK: Int = 20, threshold: Double = 0.8) throws {
        let (a, t) = explanation
        guard a.rank == 2, t.rank == 1, t.shape[0] == a.shape[0], heldOut.activations.rank == 2, heldOut.tokens.shape == [heldOut.activations.shape[0]],
              heldOut.activations.shape[1] == a.shape[1] else {
            throw TorchError("activations must be (positions, neurons) with one token per position, the same neurons on both sets")
        }
        guard (1...a.shape[0]).contains(topK) else { throw TorchError("top-k must be 1…\(a.shape[0]) (the explanation positions), got \(topK)") }
        let modes = try Self.topTokens(a, tokens: t, topK: topK).map { $0! }
        let simulation = try Self.simulationScores(explanation: explanation, heldOut: heldOut, vocabularySize: vocabularySize)
        neurons = (0..<a.shape[1]).map { Neuron(topToken: modes[$0].token, topTokenShare: modes[$0].share, simulation: simulation[$0]) }
        (self.topK, self.threshold) = (topK, threshold)
    }

    /// Per unit (column of `activations`, (positions, units)), the most frequent token among its
    /// `topK` largest activations (ties: the smaller id) and its share of them; with
    /// `positiveOnly`, among those above zero only, nil for a unit with none.
    public static func topTokens(_ activations: Tensor, tokens: Tensor, topK: Int, positiveOnly: Bool = false) throws -> [(token: Int, share: Double)?] {
        let units = activations.shape[1]
        let (values, top) = try activations.topk(topK, dim: 0)  // (k, units)
        let topTokens = try tokens.indexSelect(dim: 0, index: top.flattened()).scalars(as: Int64.self)
        let counted = positiveOnly ? try values.gt(0).scalars(as: Bool.self) : [Bool](repeating: true, count: topK * units)
        return (0..<units).map { unit in
            var counts: [Int64: Int] = [:]
            for k in 0..<topK where counted[k * units + unit] { counts[topTokens[k * units + unit], default: 0] += 1 }
            guard let best = counts.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }) else { return nil }
            return (Int(best.key), Double(best.value) / Double(counts.values.reduce(0, +)))
        }
    }

    public var monosemanticFraction: Double {
        Double(neurons.filter { $0.topTokenShare >= threshold }.count) / Double(max(neurons.count, 1))
    }

    public var meanTopTokenShare: Double { neurons.map(\.topTokenShare).reduce(0, +) / Double(max(neurons.count, 1)) }

    /// Mean over neurons whose score is defined.
    public var meanSimulation: Double {
        let defined = neurons.compactMap(\.simulation)
        return defined.reduce(0, +) / Double(max(defined.count, 1))
    }

    /// Per neuron, Pearson r between held-out activations and the per-token means of the explanation set.
    static func simulationScores(explanation: (activations: Tensor, tokens: Tensor), heldOut: (activations: Tensor, tokens: Tensor),
                                 vocabularySize: Int) throws -> [Double?] {
        let a = try explanation.activations.to(.float64), m = a.shape[1]
        let index = try explanation.tokens.unsqueezed(dim: 1).expanded(to: [a.shape[0], m]).contiguous()
        let sums = try Tensor.zeros([vocabularySize, m], dtype: .float64).scatter(dim: 0, index: index, source: a, accumulate: true)
        let counts = try Tensor.zeros([vocabularySize], dtype: .float64)
            .scatter(dim: 0, index: explanation.tokens, source: Tensor.ones([a.shape[0]], dtype: .float64), accumulate: true).unsqueezed(dim: 1)
        let seen = try counts.gt(0).to(.float64)
        let lookup = try sums / counts.clamp(min: 1) + (1 - seen) * a.mean(dims: [0], keepDims: true)
        let predicted = try lookup.indexSelect(dim: 0, index: heldOut.tokens)
        let actual = try heldOut.activations.to(.float64)
        let p = try predicted - predicted.mean(dims: [0], keepDims: true), q = try actual - actual.mean(dims: [0], keepDims: true)
        let norms = try (p.norm(dims: [0]) * q.norm(dims: [0])).scalars(as: Double.self)
        let dots = try (p * q).sum(dims: [0]).scalars(as: Double.self)
        return zip(dots, norms).map { dot, norm in norm > 1e-12 ? dot / norm : nil }
    }

    /// Per neuron, the share of its top-k positions under `a` that are also its top-k under `b`
    /// (the same positions, e.g. a SoLU neuron before and after its LayerNorm).
    public static func topExampleOverlap(_ a: Tensor, _ b: Tensor, topK: Int) throws -> [Double] {
        guard a.shape == b.shape, a.rank == 2 else { throw TorchError("both activation sets must be (positions, neurons) of one shape") }
        let m = a.shape[1]
        let x = try a.topk(topK, dim: 0).indices.scalars(as: Int64.self), y = try b.topk(topK, dim: 0).indices.scalars(as: Int64.self)
        return (0..<m).map { neuron in
            let first = Set((0..<topK).map { x[$0 * m + neuron] })
            return Double((0..<topK).filter { first.contains(y[$0 * m + neuron]) }.count) / Double(topK)
        }
    }
}
