import Foundation
import NN
import Torch

/// Trains a `SparseAutoencoder` as Bricken et al. (2023) describe: loss = mean ‖x − x̂‖² +
/// λ·mean ‖f‖₁ (TopK: the squared error alone), Adam with a linear learning-rate warm-up, unit
/// decoder rows kept by removing the gradient's parallel part before each step and rescaling
/// after it, the decoder bias started at the geometric median of a sample, and dead features
/// resampled: features that did not fire during the last `deadWindow` steps are pointed at
/// inputs drawn with probability ∝ their squared loss.
///
/// Data parallelism: with a `ProcessGroup`, each rank draws `batchSize / worldSize` rows from its
/// own data, the gradients are averaged across ranks before the step (so every rank takes the
/// step one process would take on the union of the ranks' rows), rank 0 starts b_dec and
/// resamples dead features (a feature is dead when it fired on no rank) and its parameters reach
/// the others; only rank 0 writes checkpoints.
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
    /// A checkpoint (weights, Adam's moments, the step, each feature's last firing, the reports)
    /// written every `checkpointEvery` steps and at the end; nil: none.
    public var checkpointPath: String?
    public var checkpointEvery = 1000

    public init() {}

    /// What a checkpoint must match to be resumed.
    var settings: String {
        "steps \(steps) batch \(batchSize) lr \(learningRate) warmup \(warmupSteps) l1 \(l1Coefficient) resample \(resampleAt) window \(deadWindow) seed \(seed)"
    }

    public struct Report: Codable, Sendable {
        public var step: Int
        public var loss: Double, mse: Double, l0: Double
        /// Features that did not fire since the previous report.
        public var deadFraction: Double
        public var resampled: Int
    }

    /// Reports every `reportEvery` steps (and the last), each passed to `progress` as it comes.
    /// With `resume`, continues from `checkpointPath` (same settings and autoencoder shape); the
    /// batches after the checkpoint's step come from a generator seeded with the seed and that
    /// step, so a resumed run is reproducible but draws other batches than an uninterrupted one.
    /// With a `group` (see the type's notes), rank 0's checkpoint is the one resumed, sent to every rank.
    public func train(_ sae: SparseAutoencoder, on data: ActivationBatches, reportEvery: Int = 500, resume: Bool = false,
                      group: ProcessGroup? = nil, progress: (Report) throws -> Void = { _ in }) throws -> [Report] {
        guard steps >= 1, batchSize >= 1, learningRate > 0, warmupSteps >= 0, l1Coefficient >= 0, deadWindow >= 1, reportEvery >= 1, checkpointEvery >= 1 else {
            throw TorchError("steps, batch size, learning rate, dead window, report and checkpoint intervals must be positive; warm-up and L1 not negative")
        }
        guard data.dimension == sae.configuration.inputs else {
            throw TorchError("the activations have \(data.dimension) dimensions; the autoencoder takes \(sae.configuration.inputs)")
        }
        let (rank, ranks) = (group?.rank ?? 0, group?.worldSize ?? 1)
        guard batchSize % ranks == 0 else { throw TorchError("a batch of \(batchSize) does not split evenly over \(ranks) ranks; pick a multiple of \(ranks)") }
        let parameters = [sae.encoderWeight, sae.encoderBias, sae.decoderWeight, sae.decoderBias]
        let optimizer = Adam(parameters, learningRate: learningRate)
        var reports: [Report] = [], first = 1
        var lastFired = [Int](repeating: 0, count: sae.configuration.features)
        if resume {
            (first, lastFired, reports) = try restore(sae, optimizer: optimizer, group: group)
            guard first <= steps else { return reports }
        }
        // Rank 0 draws what one process would; the others their own streams.
        let generator = Generator(seed: (first == 1 ? seed : seed &+ UInt64(first)) &+ UInt64(rank) &* 0x9E37_79B9_7F4A_7C15)
        if first == 1, medianInputs > 0, rank == 0 {
            try noGrad { try sae.decoderBias.copyInPlace(from: GeometricMedian.of(data.batch(medianInputs, generator: generator))) }
        }
        try group.map { try Self.broadcastParameters(parameters, in: $0) }
        sae.train()
        var firedSinceReport = try Tensor.zeros([sae.configuration.features], dtype: .int64)
        var sums = (loss: 0.0, mse: 0.0, l0: 0.0, count: 0), resampled = 0
        for step in first...steps {
            optimizer.learningRate = learningRate * (warmupSteps > 0 ? Swift.min(1, Double(step) / Double(warmupSteps)) : 1)
            let (loss, mse, f) = try self.step(sae, data.batch(batchSize / ranks, generator: generator), optimizer: optimizer, group: group)
            // One pass over the (N, F) activations for both counts.
            let fired = try f.detached().gt(0).sum(dims: [0])
            firedSinceReport = try firedSinceReport + fired
            let counts = try fired.scalars(as: Int64.self)
            for (feature, count) in counts.enumerated() where count > 0 { lastFired[feature] = step }
            sums.loss += try loss.item(); sums.mse += try mse.item()
            sums.l0 += Double(counts.reduce(0, +)) / Double(f.shape[0]); sums.count += 1
            if resampleAt.contains(step) {
                if let group {
                    let latest = try Tensor(lastFired.map { Int64($0) }, shape: [lastFired.count])
                    try group.allReduce(latest, .maximum)
                    lastFired = try latest.scalars(as: Int64.self).map { Int($0) }
                }
                let dead = lastFired.indices.filter { step - lastFired[$0] >= deadWindow }
                if !dead.isEmpty {
                    if rank == 0 { try resample(sae, dead: dead, data: data, generator: generator) }
                    try group.map { try Self.broadcastParameters(parameters, in: $0) }
                    try clearMoments(of: dead, in: optimizer, features: sae.configuration.features)
                    for feature in dead { lastFired[feature] = step }
                    resampled += dead.count
                }
            }
            if step % reportEvery == 0 || step == steps {
                if let group {
                    let totals = try Tensor([sums.loss, sums.mse, sums.l0], shape: [3])
                    try group.allReduce(totals)
                    let means = try totals.scalars(as: Double.self).map { $0 / Double(ranks) }
                    (sums.loss, sums.mse, sums.l0) = (means[0], means[1], means[2])
                    try group.allReduce(firedSinceReport)
                    // Identical arithmetic keeps the ranks equal; this also holds them equal on mixed CPUs.
                    try Self.broadcastParameters(parameters, in: group)
                }
                let n = Double(sums.count)
                let deadFraction = try firedSinceReport.eq(0).to(.float64).mean().item()
                let report = Report(step: step, loss: sums.loss / n, mse: sums.mse / n, l0: sums.l0 / n, deadFraction: deadFraction, resampled: resampled)
                reports.append(report)
                try progress(report)
                sums = (0, 0, 0, 0)
                resampled = 0
                firedSinceReport = try firedSinceReport.zerosLike()
            }
            if let checkpointPath, rank == 0, step % checkpointEvery == 0 || step == steps {
                try save(sae, optimizer: optimizer, step: step, lastFired: lastFired, reports: reports, to: checkpointPath)
            }
        }
        sae.eval()
        return reports
    }

    /// The tensors a checkpoint keeps under `prefix` ("sae." for the dictionary, "adam." for the
    /// optimiser), with the prefix removed.
    public static func checkpointPart(_ tensors: [String: Tensor], prefix: String) -> [String: Tensor] {
        tensors.reduce(into: [:]) { if $1.key.hasPrefix(prefix) { $0[String($1.key.dropFirst(prefix.count))] = $1.value } }
    }

    func save(_ sae: SparseAutoencoder, optimizer: Adam, step: Int, lastFired: [Int], reports: [Report], to path: String) throws {
        var tensors = try sae.stateDict().reduce(into: [String: Tensor]()) { $0["sae.\($1.key)"] = $1.value }
        for (key, value) in try optimizer.state() { tensors["adam.\(key)"] = value }
        tensors["last_fired"] = try Tensor(lastFired.map { Int64($0) }, shape: [lastFired.count])
        let metadata = ["glassbox.sae.step": String(step), "glassbox.sae.settings": settings,
                        "glassbox.sae.configuration": String(decoding: try JSONEncoder().encode(sae.configuration), as: UTF8.self),
                        "glassbox.sae.reports": String(decoding: try JSONEncoder().encode(reports), as: UTF8.self)]
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    /// The step to continue from, each feature's last firing and the reports so far.
    func restore(_ sae: SparseAutoencoder, optimizer: Adam, group: ProcessGroup?) throws -> (Int, [Int], [Report]) {
        var contents: [UInt8] = []
        if group?.rank ?? 0 == 0 {
            guard let checkpointPath, let data = FileManager.default.contents(atPath: checkpointPath) else {
                throw TorchError("no checkpoint to resume from\(checkpointPath.map { " at \($0)" } ?? ""); train without resuming first")
            }
            contents = [UInt8](data)
        }
        if let group { contents = try group.broadcast(bytes: contents) }
        let checkpointPath = self.checkpointPath ?? "rank 0's checkpoint"
        let (tensors, metadata) = try Safetensors.decode(Data(contents))
        guard let stepText = metadata["glassbox.sae.step"], let step = Int(stepText), let saved = metadata["glassbox.sae.configuration"],
              let reportsText = metadata["glassbox.sae.reports"], let lastFired = tensors["last_fired"] else {
            throw TorchError("\(checkpointPath) is not a sparse autoencoder checkpoint")
        }
        guard try JSONDecoder().decode(SparseAutoencoder.Configuration.self, from: Data(saved.utf8)) == sae.configuration,
              metadata["glassbox.sae.settings"] == settings else {
            throw TorchError("\(checkpointPath) was written with other settings (\(metadata["glassbox.sae.settings"] ?? "?"), \(saved)); resume with the same ones or start afresh")
        }
        try sae.loadStateDict(Self.checkpointPart(tensors, prefix: "sae."))
        try optimizer.loadState(Self.checkpointPart(tensors, prefix: "adam."))
        return (step + 1, try lastFired.scalars(as: Int64.self).map { Int($0) }, try JSONDecoder().decode([Report].self, from: Data(reportsText.utf8)))
    }

    /// One optimiser step on the batch `x`: gradients (averaged over the group's ranks) with
    /// W_dec's parallel part removed, Adam, decoder rows back to unit length. Returns the
    /// objective before the step.
    public func step(_ sae: SparseAutoencoder, _ x: Tensor, optimizer: Adam, group: ProcessGroup? = nil) throws -> (loss: Tensor, mse: Tensor, features: Tensor) {
        let (loss, mse, f) = try withGrad { try objective(sae, x) }
        for p in optimizer.parameters { try p.setGrad(nil) }
        try loss.backward()
        if let group, group.worldSize > 1 { try Self.averageGradients(optimizer.parameters, in: group) }
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
        // f ≥ 0 (a ReLU), so its L1 norm is its sum.
        return (try mse + f.sum() * (l1Coefficient / Double(f.shape[0])), mse, f)
    }

    /// One all-reduce for every parameter's gradient (flattened into one buffer), divided by the ranks.
    static func averageGradients(_ parameters: [Tensor], in group: ProcessGroup) throws {
        let gradients = try parameters.map { p -> Tensor in
            guard let g = p.grad else { throw TorchError("a parameter has no gradient to average across ranks") }
            return try g.reshaped([-1])
        }
        let flat = try Tensor.cat(gradients)
        try group.allReduce(flat)
        var offset = 0
        for (p, g) in zip(parameters, gradients) {
            let count = g.shape[0]
            try p.setGrad(flat.slice(dim: 0, start: offset, end: offset + count).reshaped(p.shape) / Double(group.worldSize))
            offset += count
        }
    }

    /// Rank 0's parameter values on every rank.
    static func broadcastParameters(_ parameters: [Tensor], in group: ProcessGroup) throws {
        for p in parameters { try group.broadcast(p.detached(), from: 0) }
    }

    /// A resampled feature starts afresh in Adam: its moments in W_enc, b_enc and W_dec are cleared.
    func clearMoments(of dead: [Int], in optimizer: Adam, features: Int) throws {
        let alive = try Tensor.ones([features]).scatter(dim: 0, index: Tensor(dead.map { Int64($0) }, shape: [dead.count]), source: Tensor.zeros([dead.count]))
        try optimizer.resetMoments(parameterAt: 0, keeping: alive.unsqueezed(dim: 0))
        try optimizer.resetMoments(parameterAt: 1, keeping: alive)
        try optimizer.resetMoments(parameterAt: 2, keeping: alive.unsqueezed(dim: 1))
    }

    /// Bricken et al.'s resampling: each dead feature's decoder row becomes a high-loss input,
    /// normalised; its encoder column that input scaled to 0.2 × the mean norm of the live
    /// features' encoder columns; its encoder bias 0 (its Adam moments: `clearMoments`).
    func resample(_ sae: SparseAutoencoder, dead: [Int], data: ActivationBatches, generator: Generator) throws {
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
    }
}
