import Foundation
import Torch

/// The standard measures of a trained sparse autoencoder on held-out activations (N, d):
/// L0 (features active per input), the squared error, the fraction of variance explained
/// (1 − Σ‖x − x̂‖² / Σ‖x − x̄‖²), how often each feature fires, and the shares of dead features
/// (never active here) and dense ones (active on more than `denseThreshold` of inputs).
public struct SparseAutoencoderMetrics: Codable, Sendable {
    public var inputs: Int
    public var l0: Double
    public var mse: Double
    public var varianceExplained: Double
    public var deadFraction: Double
    public var denseFraction: Double
    public var denseThreshold: Double
    /// Per feature, the fraction of inputs on which it is active.
    public var frequencies: [Double]

    public init(_ sae: SparseAutoencoder, activations x: Tensor, batchSize: Int = 8192, denseThreshold: Double = 0.1) throws {
        guard x.rank == 2, x.shape[0] >= 2, x.shape[1] == sae.configuration.inputs else {
            throw TorchError("held-out activations must be (N ≥ 2, \(sae.configuration.inputs)), got \(x.shape)")
        }
        var squaredError = 0.0, active = 0.0
        var fired = try Tensor.zeros([sae.configuration.features], dtype: .float64)
        for start in stride(from: 0, to: x.shape[0], by: batchSize) {
            let batch = try x.slice(dim: 0, start: start, end: Swift.min(x.shape[0], start + batchSize)).to(.float32)
            let f = try noGrad { try sae.encode(batch) }
            let on = try f.gt(0).to(.float64)
            squaredError += try (noGrad { try sae.decode(f) } - batch).to(.float64).square().sum().item()
            active += try on.sum().item()
            fired = try fired + on.sum(dims: [0])
        }
        let n = Double(x.shape[0])
        let x64 = try x.to(.float64)
        let total = try (x64 - x64.mean(dims: [0], keepDims: true)).square().sum().item()
        inputs = x.shape[0]
        l0 = active / n
        mse = squaredError / n
        varianceExplained = total > 0 ? 1 - squaredError / total : 0
        frequencies = try (fired / n).scalars(as: Double.self)
        deadFraction = Double(frequencies.filter { $0 == 0 }.count) / Double(frequencies.count)
        denseFraction = Double(frequencies.filter { $0 > denseThreshold }.count) / Double(frequencies.count)
        self.denseThreshold = denseThreshold
    }

    /// Live features per decade of firing frequency (10⁻⁶ … 1), the log-scale histogram.
    public var frequencyHistogram: [(decade: Int, features: Int)] {
        (-6...(-1)).map { decade in
            (decade, frequencies.filter { $0 > 0 && $0 >= Foundation.pow(10, Double(decade)) && $0 < Foundation.pow(10, Double(decade + 1)) }.count
                + (decade == -6 ? frequencies.filter { $0 > 0 && $0 < 1e-6 }.count : 0) + (decade == -1 ? frequencies.filter { $0 >= 1 }.count : 0))
        }
    }
}
