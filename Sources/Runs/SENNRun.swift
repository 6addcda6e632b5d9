import ExplanationCore
import Concepts
import Datasets
import Foundation
import NN
import Torch

/// The datasets SENN trains on: images with learnt concepts, or a table whose features are the concepts.
public enum SENNDataset: String, CaseIterable, Sendable {
    case mnist
    case breastCancer = "breast-cancer"
}

/// A dataset ready for SENN: inputs, labels and names.
public struct SENNData {
    public var trainInputs: Tensor
    public var trainLabels: Tensor
    /// Held out of the training data (its last tenth) to choose λ on; the test set only reports.
    public var validationInputs: Tensor
    public var validationLabels: Tensor
    public var testInputs: Tensor
    public var testLabels: Tensor
    public var classNames: [String]
    /// Names of the input features (tabular data), nil for images.
    public var featureNames: [String]?
    public var description: String
    /// False after `refitting()`: the validation examples are then part of the training data.
    public var validationHeldOut = true

    /// The fraction of the training data held out for validation.
    public static let validationFraction = 0.1

    public static func load(_ dataset: SENNDataset, mnist: MNISTSource) throws -> SENNData {
        switch dataset {
        case .mnist:
            let (train, test, description) = try mnist.load()
            return try SENNData(train: (train.images, train.labels), test: (test.images, test.labels), classNames: (0..<10).map(String.init),
                                featureNames: nil, description: description)
        case .breastCancer:
            let (train, test) = try BreastCancer.bundled()
            return try SENNData(train: (train.features, train.labels), test: (test.features, test.labels), classNames: train.classNames,
                                featureNames: train.featureNames,
                                description: "bundled breast-cancer data (scikit-learn 1.3.2; \(train.count) train / \(test.count) test, standardised)")
        }
    }

    /// Splits the last `validationFraction` of `train` off for validation (a fixed split, the same for every seed).
    public init(train: (Tensor, Tensor), test: (Tensor, Tensor), classNames: [String], featureNames: [String]?, description: String) throws {
        let n = train.0.shape[0]
        let held = max(1, Int((Double(n) * Self.validationFraction).rounded()))
        guard n > held else { throw TorchError("SENN needs more than \(held) training examples, got \(n)") }
        trainInputs = try train.0.slice(dim: 0, start: 0, end: n - held)
        trainLabels = try train.1.slice(dim: 0, start: 0, end: n - held)
        validationInputs = try train.0.slice(dim: 0, start: n - held, end: n)
        validationLabels = try train.1.slice(dim: 0, start: n - held, end: n)
        (testInputs, testLabels) = test
        self.classNames = classNames
        self.featureNames = featureNames
        self.description = description + "; the last \(held) training examples held out for validation"
    }

    /// The inputs a SENN command explains: the files at `paths` in the model's input shape, or
    /// without them the first `count` test examples of its dataset.
    public static func examples(for file: SENNFile, paths: [String], count: Int, mnist: MNISTSource) throws -> (inputs: Tensor, names: [String]) {
        guard !paths.isEmpty else {
            let test = try load(file.dataset, mnist: mnist)
            let n = min(count, test.testLabels.count)
            return (try test.testInputs.slice(dim: 0, start: 0, end: n), (0..<n).map { "test example \($0)" })
        }
        let loaded = try paths.map { try InputFile.load($0, expecting: file.inputShape) }
        return (try Tensor.cat(loaded.map(\.batch)), loaded.flatMap(\.names))
    }

    /// All training examples, validation included: for retraining the chosen λ once it is chosen.
    public func refitting() throws -> SENNData {
        var data = self
        data.trainInputs = try Tensor.cat([trainInputs, validationInputs])
        data.trainLabels = try Tensor.cat([trainLabels, validationLabels])
        data.validationHeldOut = false
        data.description += "; refit on all \(data.trainLabels.shape[0]) training examples after choosing λ"
        return data
    }
}

/// SENN's training settings. Epochs, batch size and learning-rate schedule default per dataset.
public struct SENNTrainingOptions: Sendable {
    /// mnist (learnt concepts) or breast-cancer (the 30 features are the concepts).
    public var dataset: SENNDataset
    /// Concepts learnt from MNIST images (tabular data: the features are the concepts).
    public var concepts = 5
    /// Keep learnt concepts ≥ 0 (softplus), so a relevance's sign alone says which way a concept pushes a class.
    public var nonnegativeConcepts = false
    /// λ, weight of the robustness loss.
    public var robustness = 1e-2
    /// ξ, weight of the concept autoencoder's reconstruction loss (MNIST).
    public var reconstruction = 1.0
    /// ζ, weight of the concept sparsity penalty mean |h(x)|.
    public var sparsity = 1e-4
    /// The paper's L_θ = ‖∇f − θᵀJh‖, or ‖Jz‖ (z the relevances before θ's final tanh).
    public var robustnessPenalty: SENNObjective.RobustnessPenalty = .gradientConsistency
    /// L_θ exactly (a backward pass per concept and class) instead of by a random class projection.
    public var exactRobustness = false
    /// Examples of each batch the robustness term is evaluated on (0: the whole batch).
    public var robustnessExamples = 16
    /// Epochs over which λ ramps up linearly from 0 (0: full λ from the start).
    public var robustnessWarmup = 0
    public var epochs: Int?
    public var batchSize: Int?
    public var learningRate: Double?
    public var learningRateDecay: Double?
    /// Random shift augmentation for MNIST, in pixels (0 turns it off).
    public var shift = 2

    public init(dataset: SENNDataset = .mnist) {
        self.dataset = dataset
    }

    /// 8 for MNIST, 30 for breast-cancer.
    public var epochCount: Int { epochs ?? (dataset == .mnist ? 8 : 30) }
    /// 128 for MNIST, 64 for breast-cancer.
    public var batch: Int { batchSize ?? (dataset == .mnist ? 128 : 64) }
    /// 4e-3 for MNIST, 2e-3 for breast-cancer.
    public var rate: Double { learningRate ?? (dataset == .mnist ? 4e-3 : 2e-3) }
    /// 0.85 for MNIST, 0.97 for breast-cancer.
    public var decay: Double { learningRateDecay ?? (dataset == .mnist ? 0.85 : 0.97) }

    public func validate() throws {
        guard (1...64).contains(concepts) else { throw TorchError("--concepts must be between 1 and 64") }
        for (name, value) in [("--robustness", robustness), ("--reconstruction", reconstruction), ("--sparsity", sparsity)] {
            guard value >= 0, value.isFinite else { throw TorchError("\(name) must be a finite number ≥ 0") }
        }
        if let epochs { try Limits.check(epochs, "--epochs", in: 1...10_000) }
        if let batchSize { try Limits.check(batchSize, "--batch-size", in: 1...1_000_000) }
        guard (0...8).contains(shift) else { throw TorchError("--shift must be between 0 and 8") }
        try Limits.check(robustnessWarmup, "--robustness-warmup", in: 0...10_000)
        try Limits.check(robustnessExamples, "--robustness-examples", in: 0...1_000_000, why: "0 means the whole batch")
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw TorchError("--learning-rate must be positive") }
        if let learningRateDecay, !(learningRateDecay > 0 && learningRateDecay <= 1) {
            throw TorchError("--learning-rate-decay must be in (0, 1]")
        }
    }
}

public struct SENNEpoch: Codable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testAccuracy: Double
    public var seconds: Double
}

public struct SENNMetrics: Codable, Sendable {
    public var data: String
    public var dataset: String
    public var concepts: Int
    public var robustness: Double
    public var reconstruction: Double
    public var sparsity: Double
    public var exactRobustness: Bool
    public var robustnessPenalty: String
    public var seed: UInt64
    public var threads: Int
    public var parameters: Int
    public var epochs: [SENNEpoch]
    /// Nil when the model trained on the validation examples too (a refit).
    public var validationAccuracy: Double?
    public var testAccuracy: Double
    public var trainSeconds: Double
}

public enum SENNRun {
    public static func makeModel(_ dataset: SENNDataset, concepts: Int, features: Int, classes: Int, nonnegativeConcepts: Bool = false,
                          generator: Generator?) throws -> SENN {
        switch dataset {
        case .mnist: return try MNISTSENN.model(concepts: concepts, classes: classes, nonnegativeConcepts: nonnegativeConcepts, generator: generator)
        case .breastCancer: return try TabularSENN.model(features: features, classes: classes, generator: generator)
        }
    }

    public static func accuracy(_ model: SENN, inputs: Tensor, labels: Tensor) throws -> Double {
        try ClassifierEvaluation({ try model($0) }, inputs: inputs, labels: labels, classes: model.classes).accuracy
    }

    /// Trains a SENN with the full objective; writes checkpoint.safetensors every epoch when `out` is given,
    /// and continues from it with `resume`.
    /// Each epoch goes to `afterEpoch`, and as a note to the progress observer.
    public static func train(_ options: SENNTrainingOptions, data: SENNData, seed: UInt64, out: String?, resume: Bool = false,
                             afterEpoch: (SENNEpoch) -> Void = { _ in }) throws -> (model: SENN, metrics: SENNMetrics) {
        try options.validate()
        let features = data.trainInputs.count / max(data.trainInputs.shape[0], 1)
        let model = try makeModel(options.dataset, concepts: options.concepts, features: features, classes: data.classNames.count,
                                  nonnegativeConcepts: options.nonnegativeConcepts, generator: Generator(seed: seed))
        var objective = SENNObjective(robustness: options.robustness, reconstruction: options.reconstruction, sparsity: options.sparsity)
        objective.exactRobustness = options.exactRobustness
        objective.penalty = options.robustnessPenalty
        objective.robustnessExamples = options.robustnessExamples > 0 ? options.robustnessExamples : nil
        // λ for epoch e (1-based) during the warm-up: λ · e / (warm-up + 1).
        func robustness(forEpoch epoch: Int) -> Double {
            options.robustnessWarmup > 0 && epoch <= options.robustnessWarmup
                ? options.robustness * Double(epoch) / Double(options.robustnessWarmup + 1) : options.robustness
        }
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: options.rate))
        trainer.batchSize = options.batch
        trainer.seed = seed
        trainer.learningRateDecay = options.decay
        if options.dataset == .mnist, options.shift > 0 {
            trainer.augment = { try Augmentation.randomShift($0, maxPixels: options.shift, generator: $1) }
        }
        trainer.beforeEpoch = { objective.robustness = robustness(forEpoch: $0) }
        trainer.objective = { inputs, targets, generator in
            let (terms, logits) = try objective.evaluate(model, inputs: inputs, targets: targets, generator: generator)
            return (terms.total, logits)
        }
        if let out {
            let checkpoint = (out as NSString).appendingPathComponent("checkpoint.safetensors")
            if !resume, FileManager.default.fileExists(atPath: checkpoint) { try FileManager.default.removeItem(atPath: checkpoint) }
            trainer.checkpointPath = checkpoint
        }
        var o = options
        o.epochs = nil
        trainer.settings = "data \(data.description), seed \(seed), \(o)"
        // Epochs restored from a checkpoint keep their test numbers: the records travel with it.
        var epochs = try trainer.checkpointPath.flatMap { try Checkpoint.records(at: $0) }
            .map { try JSONDecoder().decode([SENNEpoch].self, from: Data($0.utf8)) } ?? []
        trainer.records = { String(decoding: try JSONEncoder().encode(epochs), as: UTF8.self) }
        let history = try trainer.fit(inputs: data.trainInputs, targets: data.trainLabels, epochs: options.epochCount) { report in
            model.eval()
            defer { model.train() }
            let test = try accuracy(model, inputs: data.testInputs, labels: data.testLabels)
            epochs.append(SENNEpoch(epoch: report.epoch, trainLoss: report.loss, trainAccuracy: report.accuracy, testAccuracy: test,
                                    seconds: report.seconds))
            afterEpoch(epochs[epochs.count - 1])
            ProgressObserver.note(String(format: "epoch %2d  loss %.4f  train acc %.2f%%  test acc %.2f%%  (%.1fs)",
                                         report.epoch, report.loss, 100 * report.accuracy, 100 * test, report.seconds))
        }
        model.eval()
        let metrics = SENNMetrics(
            data: data.description, dataset: options.dataset.rawValue, concepts: model.concepts, robustness: options.robustness,
            reconstruction: options.reconstruction, sparsity: options.sparsity, exactRobustness: options.exactRobustness,
            robustnessPenalty: options.robustnessPenalty.rawValue, seed: seed, threads: Torch.threads, parameters: model.parameterCount, epochs: epochs,
            validationAccuracy: data.validationHeldOut ? try accuracy(model, inputs: data.validationInputs, labels: data.validationLabels) : nil,
            // The last epoch's test accuracy is the final model's; a resumed run with no epochs left measures it.
            testAccuracy: try epochs.last?.testAccuracy ?? accuracy(model, inputs: data.testInputs, labels: data.testLabels),
            trainSeconds: history.map(\.seconds).reduce(0, +))
        return (model, metrics)
    }
}

