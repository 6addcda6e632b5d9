import Foundation
import Torch

/// What one epoch of training measured.
public struct EpochReport: Codable, Sendable {
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double
    public var seconds: Double
}

/// A supervised training loop: seeded shuffling, mini-batches, progress, and
/// per-epoch checkpoints written atomically, from which training resumes.
public final class Trainer {
    public let model: Module
    public let optimizer: Optimizer
    public let loss: (Tensor, Tensor) throws -> Tensor
    public var batchSize = 64
    public var seed: UInt64 = 0
    /// Where to write a checkpoint after every epoch; training resumes from it when it exists.
    public var checkpointPath: String?
    /// The run's settings as text, stored with each checkpoint; resuming from a checkpoint written
    /// with other settings is refused (it would silently continue a different run).
    public var settings: String?
    /// A run's own records (per-epoch evaluations), stored with each checkpoint after `afterEpoch`,
    /// so a resumed run keeps its whole history; read them back with `Checkpoint.records(at:)`.
    public var records: (() throws -> String)?
    /// Multiplies the learning rate after each epoch (1 keeps it constant).
    public var learningRateDecay = 1.0
    /// Transforms each training batch (data augmentation, trimming padding); gets a generator seeded per epoch.
    public var augment: ((Tensor, Generator) throws -> Tensor)?
    /// The epoch's batches as lists of example indices, from the epoch's generator (e.g. length
    /// buckets for text); nil: a random permutation cut into `batchSize` pieces.
    public var batchPlan: ((Generator) throws -> [[Int]])?
    /// Replaces `loss(model(x), y)` by an objective that sees the inputs (for losses on
    /// input gradients or reconstructions); returns the loss and the logits. Its generator
    /// is the epoch's (seeded per epoch, so resumed runs draw the same numbers).
    public var objective: ((Tensor, Tensor, Generator) throws -> (loss: Tensor, logits: Tensor))?
    /// How far training has come, in epochs (fractional within an epoch): what a schedule inside
    /// `objective` reads (an adversarial budget's warm-up).
    public private(set) var epochsDone = 0.0
    /// Called with the epoch number (1-based) before each epoch, also the first one after a
    /// resume: for schedules of loss weights and the like.
    public var beforeEpoch: ((Int) throws -> Void)?

    public init(model: Module, optimizer: Optimizer,
                loss: @escaping (Tensor, Tensor) throws -> Tensor = { try Functional.crossEntropy($0, target: $1) }) {
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
    }

    /// Trains for `epochs` epochs in total (counting those a checkpoint already holds).
    ///
    /// Epoch e shuffles with seed `seed + e` and reseeds every `Stochastic` module from it, so a resumed
    /// run gives the same numbers as an uninterrupted one.
    @discardableResult
    public func fit(inputs: Tensor, targets: Tensor, epochs: Int,
                    afterEpoch: (EpochReport) throws -> Void = { _ in }) throws -> [EpochReport] {
        let n = inputs.shape.first ?? 0
        guard n > 0, targets.shape.first == n else {
            throw TorchError("training needs as many targets as inputs: \(inputs.shape) vs \(targets.shape)")
        }
        guard batchSize > 0 else { throw TorchError("batch size must be positive") }
        var history: [EpochReport] = []
        if let checkpointPath, FileManager.default.fileExists(atPath: checkpointPath) {
            let stored = try Checkpoint.metadata(at: checkpointPath)["settings"]
            if let settings, let stored, stored != settings {
                throw TorchError("\(checkpointPath) was written by a run with other settings (\(stored)); this run asks for \(settings). Resume with the same settings, or train into another folder")
            }
            history = try Checkpoint.load(checkpointPath, into: model, optimizer: optimizer)
            guard history.count <= epochs else {
                throw TorchError("\(checkpointPath) already holds \(history.count) epochs; asking for \(epochs) would report a model trained longer than asked. Give --epochs \(history.count) or more, or train into another folder")
            }
            if let last = history.last {
                ProgressObserver.note("resuming from \(checkpointPath) after epoch \(last.epoch)")
            }
        }
        let baseLearningRate = optimizer.learningRate
        for epoch in stride(from: history.count + 1, through: epochs, by: 1) {
            let started = Date()
            try beforeEpoch?(epoch)
            model.train()
            for (index, module) in model.namedModules().enumerated() {
                (module.module as? Stochastic)?.reseed(seed &+ UInt64(epoch) &* 1_000_003 &+ UInt64(index))
            }
            let generator = Generator(seed: seed &+ UInt64(epoch))
            let plan = try epochBatches(n, generator: generator)
            optimizer.learningRate = baseLearningRate * Foundation.pow(learningRateDecay, Double(epoch - 1))
            var lossSum = 0.0
            var correct = 0
            var seen = 0
            for (b, index) in plan.enumerated() {
                var x = try inputs.indexSelect(dim: 0, index: index)
                if let augment { x = try augment(x, generator) }
                let y = try targets.indexSelect(dim: 0, index: index)
                epochsDone = Double(epoch - 1) + Double(b) / Double(plan.count)
                let (value, logits) = try objective?(x, y, generator) ?? { let l = try model(x); return (try loss(l, y), l) }()
                try model.zeroGrad()
                try value.backward()
                try optimizer.step()
                let batchLoss = try value.item()
                guard batchLoss.isFinite else {
                    throw TorchError("training diverged: loss is \(batchLoss) at epoch \(epoch), batch \(b + 1); lower the learning rate")
                }
                seen += index.shape[0]
                lossSum += batchLoss * Double(index.shape[0])
                if logits.rank == 2 { correct += try noGrad { try logits.argmax(dim: 1).eq(y).to(.int64).sum().itemInt() } }
                ProgressObserver.report("epoch \(epoch)/\(epochs)", done: b + 1, of: plan.count, unit: "batches",
                                        status: String(format: "loss %.4f", lossSum / Double(seen)))
            }
            let report = EpochReport(epoch: epoch, loss: lossSum / Double(n), accuracy: Double(correct) / Double(n),
                                     seconds: Date().timeIntervalSince(started))
            history.append(report)
            try afterEpoch(report)
            if let checkpointPath {
                try Checkpoint.save(checkpointPath, model: model, optimizer: optimizer, history: history, settings: settings,
                                    records: records?())
            }
        }
        model.eval()
        return history
    }

    /// The epoch's batches as index tensors: the plan's, checked to cover every example once, or a permutation's pieces.
    func epochBatches(_ n: Int, generator: Generator) throws -> [Tensor] {
        guard let batchPlan else {
            let order = try Tensor.randperm(n, generator: generator)
            return try stride(from: 0, to: n, by: batchSize).map { try order.slice(dim: 0, start: $0, end: min(n, $0 + batchSize)) }
        }
        let plan = try batchPlan(generator)
        guard plan.allSatisfy({ !$0.isEmpty }), plan.flatMap({ $0 }).sorted() == Array(0..<n) else {
            throw TorchError("the batch plan must list every one of the \(n) examples exactly once, in non-empty batches")
        }
        return try plan.map { try Tensor($0.map(Int64.init), shape: [$0.count]) }
    }
}

/// Training checkpoints: one safetensors file with the model's state dict
/// (names unchanged, so it loads in PyTorch with `strict=False`), the optimizer's
/// state under `optimizer.`, and the epoch history as metadata.
public enum Checkpoint {
    public static func save(_ path: String, model: Module, optimizer: Optimizer, history: [EpochReport], settings: String? = nil,
                            records: String? = nil) throws {
        var tensors = model.stateDict()
        for (name, tensor) in try optimizer.state() { tensors["optimizer.\(name)"] = tensor }
        var metadata = ["format": "glassbox-checkpoint-1", "history": String(decoding: try JSONEncoder().encode(history), as: UTF8.self)]
        metadata["settings"] = settings
        metadata["records"] = records
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    /// A checkpoint's metadata (format, history, settings, records), without reading its tensors.
    public static func metadata(at path: String) throws -> [String: String] {
        let metadata = try Safetensors.readMetadata(path)
        guard metadata["format"] == "glassbox-checkpoint-1" else {
            throw TorchError("\(path) is not a Glassbox training checkpoint; delete it or choose another --out")
        }
        return metadata
    }

    /// The run records stored with a checkpoint, or nil when it has none (or there is no checkpoint).
    public static func records(at path: String) throws -> String? {
        FileManager.default.fileExists(atPath: path) ? try metadata(at: path)["records"] : nil
    }

    /// Restores model and optimizer; returns the epochs already trained.
    public static func load(_ path: String, into model: Module, optimizer: Optimizer) throws -> [EpochReport] {
        let (tensors, metadata) = try Safetensors.read(path)
        guard metadata["format"] == "glassbox-checkpoint-1", let history = metadata["history"] else {
            throw TorchError("\(path) is not a Glassbox training checkpoint; delete it or choose another --out")
        }
        let modelState = tensors.filter { !$0.key.hasPrefix("optimizer.") }
        let optimizerState = Dictionary(uniqueKeysWithValues: tensors.compactMap { key, value in
            key.hasPrefix("optimizer.") ? (String(key.dropFirst("optimizer.".count)), value) : nil
        })
        try model.loadStateDict(modelState)
        try optimizer.loadState(optimizerState)
        return try JSONDecoder().decode([EpochReport].self, from: Data(history.utf8))
    }
}
