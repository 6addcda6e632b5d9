import Foundation
import NN
import Torch

/// Trains a `SparseAutoencoder` as Bricken et al. (2023) describe: loss = mean ‖x − x̂‖² +
/// λ·mean ‖f‖₁ (TopK: the squared error alone), Adam with a linear learning-rate warm-up, unit
/// decoder rows kept by removing the gradient's parallel part before each step and rescaling
/// after it, the decoder bias started at the geometric median of a sample, and dead features
/// resampled: features that did not fire during the last `deadWindow` steps are pointed at
/// inputs drawn with probability ∝ their squared loss.
public struct SparseAutoencoderTrainer {
    public var steps = 10_000
    public var batchSize = 4096
    public var learningRate = 1e-3
    public var warmupSteps = 1000
    public var l1Coefficient = 1e-3
    /// Resample at these steps (Bricken et al.: 25k, 50k, 75k and 100k of their runs); empty: never.
    public var resampleAt: [Int] = []
    public var deadWindow = 2500
    /// Inputs scored when resampling (Bricken et al. used 819,200).
    public var resampleInputs = 65_536
    /// Inputs whose geometric median starts b_dec (0: leave b_dec at zero).
    public var medianInputs = 8192
    public var seed: UInt64 = 0

    public init() {}

    public struct Report: Codable, Sendable {
        public var step: Int
        public var loss: Double, mse: Double, l0: Double
        /// Features that did not fire since the previous report.
        public var deadFraction: Double
        public var resampled: Int
    }

    /// Reports every `reportEvery` steps (and the last), each passed to `progress` as it comes.
    public func train(_ sae: SparseAutoencoder, on data: ActivationBatches, reportEvery: Int = 500,
                      progress: (Report) throws -> Void = { _ in }) throws -> [Report] {
        guard steps >= 1, batchSize >= 1, learningRate > 0, warmupSteps >= 0, l1Coefficient >= 0, deadWindow >= 1, reportEvery >= 1 else {
            throw TorchError("steps, batch size, learning rate, dead window and report interval must be positive; warm-up and L1 not negative")
        }
        guard data.dimension == sae.configuration.inputs else {
            throw TorchError("the activations have \(data.dimension) dimensions; the autoencoder takes \(sae.configuration.inputs)")
        }
        let generator = Generator(seed: seed)
        if medianInputs > 0 {
            try noGrad { try sae.decoderBias.copyInPlace(from: GeometricMedian.of(data.batch(medianInputs, generator: generator))) }
        }
        sae.train()
        let parameters = [sae.encoderWeight, sae.encoderBias, sae.decoderWeight, sae.decoderBias]
        let optimizer = Adam(parameters, learningRate: learningRate)
        var reports: [Report] = []
        var firedSinceReport = try Tensor.zeros([sae.configuration.features], dtype: .int64)
        var lastFired = [Int](repeating: 0, count: sae.configuration.features)
        var sums = (loss: 0.0, mse: 0.0, l0: 0.0, count: 0), resampled = 0
        for step in 1...steps {
            optimizer.learningRate = learningRate * (warmupSteps > 0 ? Swift.min(1, Double(step) / Double(warmupSteps)) : 1)
            let (loss, mse, f) = try self.step(sae, data.batch(batchSize, generator: generator), optimizer: optimizer)
            let fired = try f.detached().gt(0).to(.int64).sum(dims: [0])
            firedSinceReport = try firedSinceReport + fired
            for (feature, count) in try fired.scalars(as: Int64.self).enumerated() where count > 0 { lastFired[feature] = step }
            sums.loss += try loss.item(); sums.mse += try mse.item()
            sums.l0 += try f.detached().gt(0).to(.float64).sum(dims: [1]).mean().item(); sums.count += 1
            if resampleAt.contains(step) {
                let dead = lastFired.indices.filter { step - lastFired[$0] >= deadWindow }
                if !dead.isEmpty {
                    try resample(sae, dead: dead, data: data, optimizer: optimizer, generator: generator)
                    for feature in dead { lastFired[feature] = step }
                    resampled += dead.count
                }
            }
            if step % reportEvery == 0 || step == steps {
                let n = Double(sums.count)
                let deadFraction = try firedSinceReport.eq(0).to(.float64).mean().item()
                let report = Report(step: step, loss: sums.loss / n, mse: sums.mse / n, l0: sums.l0 / n, deadFraction: deadFraction, resampled: resampled)
                reports.append(report)
                try progress(report)
                sums = (0, 0, 0, 0)
                resampled = 0
                firedSinceReport = try firedSinceReport.zerosLike()
            }
        }
        sae.eval()
        return reports
    }

    /// One optimiser step on the batch `x`: gradients with W_dec's parallel part removed, Adam,
    /// decoder rows back to unit length. Returns the objective before the step.
    public func step(_ sae: SparseAutoencoder, _ x: Tensor, optimizer: Adam) throws -> (loss: Tensor, mse: Tensor, features: Tensor) {
        let (loss, mse, f) = try withGrad { try objective(sae, x) }
        for p in optimizer.parameters { try p.setGrad(nil) }
        try loss.backward()
        try sae.removeParallelGradient()
        try optimizer.step()
        try sae.normalizeDecoder()
        return (loss, mse, f)
    }

    /// The loss, its squared-error part, and the feature activations.
    public func objective(_ sae: SparseAutoencoder, _ x: Tensor) throws -> (loss: Tensor, mse: Tensor, features: Tensor) {
        let f = try sae.encode(x)
        let mse = try (sae.decode(f) - x).square().sum(dims: [1]).mean()
        guard sae.configuration.topK == nil, l1Coefficient > 0 else { return (mse, mse, f) }
        return (try mse + f.abs().sum(dims: [1]).mean() * l1Coefficient, mse, f)
    }

    /// Bricken et al.'s resampling: each dead feature's decoder row becomes a high-loss input,
    /// normalised; its encoder column that input scaled to 0.2 × the mean norm of the live
    /// features' encoder columns; its encoder bias 0; its Adam moments are cleared.
    func resample(_ sae: SparseAutoencoder, dead: [Int], data: ActivationBatches, optimizer: Adam, generator: Generator) throws {
        let inputs = try data.batch(resampleInputs, generator: generator)
        // Scored in chunks: the features of every input at once would be inputs × F values.
        let losses = try Tensor.cat(stride(from: 0, to: resampleInputs, by: 8192).map { start in
            let chunk = try inputs.slice(dim: 0, start: start, end: Swift.min(start + 8192, resampleInputs))
            return try noGrad { try (sae(chunk) - chunk).square().sum(dims: [1]) }
        })
        // Inverse-CDF draws, probability ∝ squared loss (uniform when every loss is 0).
        var cumulative = try losses.to(.float64).square().scalars(as: Double.self)
        for i in cumulative.indices.dropFirst() { cumulative[i] += cumulative[i - 1] }
        let total = cumulative.last ?? 0
        let uniforms = try Tensor.rand([dead.count], dtype: .float64, generator: generator).scalars(as: Double.self)
        let chosen = uniforms.map { u -> Int64 in
            guard total > 0 else { return Int64(u * Double(cumulative.count - 1)) }
            let target = u * total
            var (low, high) = (0, cumulative.count - 1)
            while low < high { let mid = (low + high) / 2; if cumulative[mid] < target { low = mid + 1 } else { high = mid } }
            return Int64(low)
        }
        let picked = try inputs.indexSelect(dim: 0, index: Tensor(chosen, shape: [chosen.count]))
        let unit = try picked / picked.norm(dims: [1], keepDims: true).clamp(min: 1e-12)
        let deadIndex = try Tensor(dead.map { Int64($0) }, shape: [dead.count])
        var alive = try Tensor.ones([sae.configuration.features])
        alive = try alive.scatter(dim: 0, index: deadIndex, source: Tensor.zeros([dead.count]))
        try noGrad {
            let columnNorms = try sae.encoderWeight.norm(dims: [0])
            let aliveCount = try alive.sum().item()
            let scale = aliveCount > 0 ? try (columnNorms * alive).sum().item() / aliveCount * 0.2 : 0.2
            let d = sae.configuration.inputs
            let rows = try deadIndex.unsqueezed(dim: 1).expanded(to: [dead.count, d]).contiguous()
            try sae.decoderWeight.copyInPlace(from: sae.decoderWeight.detached().scatter(dim: 0, index: rows, source: unit))
            let columns = try deadIndex.unsqueezed(dim: 0).expanded(to: [d, dead.count]).contiguous()
            try sae.encoderWeight.copyInPlace(from: sae.encoderWeight.detached().scatter(dim: 1, index: columns, source: (unit * scale).t().contiguous()))
            try sae.encoderBias.copyInPlace(from: sae.encoderBias * alive)
        }
        try optimizer.resetMoments(parameterAt: 0, keeping: alive.unsqueezed(dim: 0))
        try optimizer.resetMoments(parameterAt: 1, keeping: alive)
        try optimizer.resetMoments(parameterAt: 2, keeping: alive.unsqueezed(dim: 1))
    }
}
