import Datasets
import Foundation
import NN
import TextModels
import Torch
import Transparent

public enum TextArchitecture: String, CaseIterable, Codable, Sendable {
    case bilstmAttention = "bilstm-attention", transformer, minilmProbe = "minilm-probe"
}

public struct TextTrainingOptions: Sendable {
    public var task: TweetCorpus.Task = .binary
    public var architecture: TextArchitecture = .bilstmAttention
    /// For the BiLSTM: attention frozen to uniform weights (Wiegreffe & Pinter 2019's baseline).
    public var uniformAttention = false
    public var epochs = 6
    public var batchSize = 64
    public var learningRate = 2e-3
    /// Words seen fewer times in the training texts become [UNK].
    public var minimumCount = 2
    /// Longer texts keep their first tokens.
    public var maxLength = 64
    /// all-MiniLM-L6-v2's folder for the probe (else $GLASSBOX_MINILM or the cache).
    public var minilm: String?
    /// Only the first texts of each split (quick runs and tests); nil uses them all.
    public var limit: Int?

    public init() {}

    public func validate() throws {
        guard (1...1000).contains(epochs) else { throw TorchError("epochs must be between 1 and 1000, got \(epochs)") }
        guard (1...100_000).contains(batchSize) else { throw TorchError("the batch size must be between 1 and 100000, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw TorchError("the learning rate must be positive") }
        guard minimumCount >= 1, (1...512).contains(maxLength) else { throw TorchError("the minimum count must be at least 1 and the length 1…512") }
        if let limit, limit < 10 { throw TorchError("a limit needs at least 10 texts per split, got \(limit)") }
        if uniformAttention, architecture != .bilstmAttention { throw TorchError("uniform attention is an option of the BiLSTM with attention (--arch bilstm-attention)") }
    }
}

/// Accuracy and macro-F1 (the mean of per-class F1 scores), the figures the corpus reference reports.
public struct TextScores: Codable, Sendable {
    public var accuracy: Double
    public var macroF1: Double
    public var classF1: [Double]

    public init(predictions: [Int], labels: [Int], classes: Int) {
        accuracy = Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(Swift.max(labels.count, 1))
        classF1 = (0..<classes).map { c in
            let truePositive = Double(zip(predictions, labels).filter { $0 == c && $1 == c }.count)
            let predicted = Double(predictions.filter { $0 == c }.count), actual = Double(labels.filter { $0 == c }.count)
            return predicted + actual == 0 ? 0 : 2 * truePositive / (predicted + actual)
        }
        macroF1 = classF1.reduce(0, +) / Double(Swift.max(classes, 1))
    }
}

public struct TextRunRecord: Codable, Sendable {
    public var task: String
    public var architecture: String
    public var parameters: Int
    public var vocabulary: Int
    public var epochs: [EpochReport]
    public var validation: TextScores
    public var test: TextScores
    public var trainSeconds: Double
    public var seed: UInt64
}

extension TextScores {
    /// The target text classifiers are held to: a macro-F1 at least the TF-IDF reference's on the same test split.
    public func reachesReference(of task: TweetCorpus.Task) -> Bool { macroF1 >= task.reference.macroF1 }
}

/// `glassbox text train`: a classifier on the bundled tweets, with validation scores every epoch,
/// test scores at the end, checkpoints, and a model file `text evaluate` reads.
public enum TextRun {
    public static func train(_ options: TextTrainingOptions, seed: UInt64, out: String, resume: Bool = false) throws -> TextRunRecord {
        try options.validate()
        try OutputFolder.prepare(out)
        let corpus = try TweetCorpus.bundled(task: options.task).prefix(options.limit)
        let classes = options.task.classNames.count
        if options.architecture == .minilmProbe { return try probe(corpus, options: options, seed: seed, out: out) }
        let vocabulary = WordVocabulary(building: corpus.train.texts, minimumCount: options.minimumCount)
        func ids(_ texts: LabelledTexts) throws -> Tensor { try TextModelFile.ids(texts.texts, vocabulary: vocabulary, maxLength: options.maxLength) }
        let (trainIds, validationIds, testIds) = (try ids(corpus.train), try ids(corpus.validation), try ids(corpus.test))
        let generator = Generator(seed: seed)
        let model: Module, configuration: String
        switch options.architecture {
        case .bilstmAttention:
            var c = BiLSTMAttentionClassifier.Configuration(vocabularySize: vocabulary.count, classes: classes)
            c.uniformAttention = options.uniformAttention
            model = try BiLSTMAttentionClassifier(c, generator: generator)
            configuration = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        case .transformer:
            var c = TransformerClassifier.Configuration(vocabularySize: vocabulary.count, classes: classes)
            c.maxLength = options.maxLength
            model = try TransformerClassifier(c, generator: generator)
            configuration = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        case .minilmProbe: throw TorchError("the MiniLM probe is fitted by probe(_:options:seed:out:)")
        }
        let trainer = try lengthBucketedTrainer(model, ids: trainIds, options: options, seed: seed)
        trainer.checkpointPath = path(out, "checkpoint.safetensors")
        trainer.settings = "\(options.architecture.rawValue)\(options.uniformAttention ? " uniform attention" : "") \(options.task.rawValue) length buckets of \(options.batchSize) lr \(options.learningRate) min count \(options.minimumCount) length \(options.maxLength) seed \(seed)"
        if !resume, FileManager.default.fileExists(atPath: trainer.checkpointPath!) { try FileManager.default.removeItem(atPath: trainer.checkpointPath!) }
        ProgressObserver.note("training \(options.architecture.rawValue) (\(model.parameterCount) parameters, \(vocabulary.count) words) on \(corpus.train.count) texts")
        let started = Date()
        let history = try trainer.fit(inputs: trainIds, targets: corpus.train.labelTensor(), epochs: options.epochs) { report in
            let scores = TextScores(predictions: try predict(model, validationIds), labels: corpus.validation.labels, classes: classes)
            ProgressObserver.note(String(format: "epoch %2d  train loss %.4f  train acc %.2f%%  validation acc %.2f%%  macro-F1 %.3f  (%.1fs)",
                                         report.epoch, report.loss, 100 * report.accuracy, 100 * scores.accuracy, scores.macroF1, report.seconds))
        }
        let seconds = Date().timeIntervalSince(started)
        let record = TextRunRecord(task: options.task.rawValue, architecture: options.architecture.rawValue, parameters: model.parameterCount,
                                   vocabulary: vocabulary.count, epochs: history,
                                   validation: TextScores(predictions: try predict(model, validationIds), labels: corpus.validation.labels, classes: classes),
                                   test: TextScores(predictions: try predict(model, testIds), labels: corpus.test.labels, classes: classes),
                                   trainSeconds: seconds, seed: seed)
        try TextModelFile.save(model.stateDict(), architecture: options.architecture, task: options.task, configuration: configuration,
                               vocabulary: vocabulary, maxLength: options.maxLength, to: path(out, "model.safetensors"))
        try JSONFile.write(record, to: path(out, "metrics.json"))
        return record
    }

    /// A trainer (Adam) whose batches hold texts of similar length, cut to their longest text: far
    /// less padding to compute.
    static func lengthBucketedTrainer(_ model: Module, ids: Tensor, options: TextTrainingOptions, seed: UInt64) throws -> Trainer {
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: options.learningRate))
        (trainer.batchSize, trainer.seed) = (options.batchSize, seed)
        let lengths = try ids.ne(0).to(.int64).sum(dims: [1]).scalars(as: Int64.self).map { Int($0) }
        trainer.batchPlan = { try TokenBatch.buckets(lengths: lengths, batchSize: options.batchSize, generator: $0) }
        trainer.augment = { ids, _ in try TokenBatch.trimmed(ids) }
        return trainer
    }

    /// Class predictions in batches of 256, without gradients.
    static func predict(_ model: Module, _ ids: Tensor) throws -> [Int] {
        model.eval()
        var predictions: [Int] = []
        for start in stride(from: 0, to: ids.shape[0], by: 256) {
            let batch = try TokenBatch.trimmed(ids.slice(dim: 0, start: start, end: Swift.min(start + 256, ids.shape[0])))
            predictions += try noGrad { try model(batch).argmax(dim: 1) }.scalars(as: Int64.self).map { Int($0) }
        }
        return predictions
    }

    /// A logistic-regression head on frozen all-MiniLM-L6-v2 sentence embeddings.
    static func probe(_ corpus: TweetCorpus.Splits, options: TextTrainingOptions, seed: UInt64, out: String) throws -> TextRunRecord {
        let (model, tokenizer) = try MiniLMFiles.load(MiniLMFiles.folder(explicit: options.minilm))
        let started = Date()
        func embed(_ part: LabelledTexts, _ name: String) throws -> LabelledFeatures {
            ProgressObserver.note("embedding the \(part.count) \(name) texts with MiniLM")
            return try LabelledFeatures(features: SentenceEmbedding.embed(part.texts, model: model, tokenizer: tokenizer),
                                        labels: part.labelTensor(), classes: part.classNames.count)
        }
        let (train, validation, test) = (try embed(corpus.train, "training"), try embed(corpus.validation, "validation"), try embed(corpus.test, "test"))
        let head = try LogisticRegression.fit(train, settings: .init(inverseStrength: 1))
        func scores(_ data: LabelledFeatures, _ part: LabelledTexts) throws -> TextScores {
            TextScores(predictions: try head.predict(data.features).scalars(as: Int64.self).map { Int($0) }, labels: part.labels, classes: part.classNames.count)
        }
        let record = TextRunRecord(task: options.task.rawValue, architecture: options.architecture.rawValue, parameters: head.parameterCount,
                                   vocabulary: tokenizer.count, epochs: [], validation: try scores(validation, corpus.validation),
                                   test: try scores(test, corpus.test), trainSeconds: Date().timeIntervalSince(started), seed: seed)
        try TextModelFile.save(["weights": head.weights, "bias": head.bias], architecture: .minilmProbe, task: options.task, configuration: "{}",
                               vocabulary: nil, maxLength: model.configuration.maxPositions, to: path(out, "model.safetensors"))
        try JSONFile.write(record, to: path(out, "metrics.json"))
        return record
    }

    /// `glassbox text evaluate`: a saved classifier's scores on the test split of its task.
    public static func evaluate(_ modelPath: String, minilm: String? = nil) throws -> (scores: TextScores, task: TweetCorpus.Task, architecture: TextArchitecture) {
        let file = try TextModelFile.load(modelPath)
        let corpus = try TweetCorpus.bundled(task: file.task)
        let predictions = try file.classify(corpus.test.texts, minilm: minilm)
        return (TextScores(predictions: predictions, labels: corpus.test.labels, classes: corpus.test.classNames.count), file.task, file.architecture)
    }
}
