import ExplanationCore
import Foundation
import NN
import Torch

/// Everything the geometry page shows about one pair of hook points: the per-input Jacobians'
/// spectra, effective ranks and subspace agreement (seed 003: does the layer pair have a
/// consistent low-dimensional factorisation?).
public struct LayerPairStudy: Codable, Sendable {
    public var from: String, to: String
    public var inputs: Int, inputDimension: Int, outputDimension: Int
    /// Singular values divided by each input's largest: the 10th, 50th and 90th percentile over
    /// inputs (nearest rank), per index.
    public var normalizedSpectrum: [[Double]]
    public var entropyRank: [Double], participationRatio: [Double], thresholdRank: [Double]
    public var relativeThreshold: Double
    public var agreement: SubspaceAgreement
    public var seconds: Double

    /// The effective ranks' means over the inputs.
    public var meanRanks: (entropy: Double, participation: Double, threshold: Double) {
        (average(entropyRank), average(participationRatio), average(thresholdRank))
    }

    /// Inputs whose subspaces are compared pairwise.
    static let comparedInputs = 64

    /// At most `maxInputs` rows of `inputs`, and fewer when their Jacobians would pass `maxBytes`.
    public init(_ model: Explainable, from: String, to: String, inputs: Tensor, maxInputs: Int = 256, maxBytes: Double = 1e9,
                topK: Int = 10, relativeThreshold: Double = 1e-3) throws {
        let started = Date()
        let probe = try LayerJacobian(from: from, to: to).dimensions(model, inputs: inputs.slice(dim: 0, start: 0, end: 1))
        let fitting = Int(maxBytes / (4 * Double(probe.input) * Double(probe.output)))
        let count = min(inputs.shape[0], maxInputs, max(2, fitting))
        guard count >= 2 else { throw TorchError("the geometry of a layer pair needs at least 2 inputs") }
        let jacobians = try LayerJacobian(from: from, to: to)(model, inputs: inputs.slice(dim: 0, start: 0, end: count))
        guard try jacobians.allFinite() else {
            throw TorchError("the Jacobians from '\(from)' to '\(to)' hold NaN or infinite values; check the inputs' scale (largest magnitude \(try inputs.abs().max().item())) and the model")
        }
        // The compared inputs' float64 SVD serves both their spectra and the subspaces; the other
        // inputs need only singular values.
        let compared = min(count, Self.comparedInputs)
        let decomposition = try jacobians.slice(dim: 0, start: 0, end: compared).to(.float64).svd()
        let others = compared < count ? [try JacobianSpectrum(jacobians: jacobians.slice(dim: 0, start: compared, end: count)).singularValues] : []
        let spectrum = JacobianSpectrum(singularValues: try Tensor.cat([decomposition.s] + others))
        let normalized = try spectrum.normalized()
        let sorted = try normalized.sorted(dim: 0).values
        let quantiles = try [0.1, 0.5, 0.9].map { q in
            try sorted.select(dim: 0, index: Int((q * Double(count - 1)).rounded())).scalars(as: Double.self)
        }
        (self.from, self.to, self.inputs, inputDimension, outputDimension) = (from, to, count, probe.input, probe.output)
        normalizedSpectrum = quantiles
        entropyRank = try spectrum.entropyRank()
        participationRatio = try spectrum.participationRatio()
        thresholdRank = try spectrum.thresholdRank(relativeThreshold: relativeThreshold)
        self.relativeThreshold = relativeThreshold
        agreement = try SubspaceAgreement(jacobians: jacobians, k: topK, maxInputs: compared, decomposition: decomposition)
        seconds = Date().timeIntervalSince(started)
    }
}

/// The mean of `values`, 0 when there are none.
func average(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
