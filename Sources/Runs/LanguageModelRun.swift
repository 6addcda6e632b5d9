import Datasets
import Foundation
import NN
import TextModels
import Torch

public struct LanguageModelOptions: Sendable {
    public enum Tokens: String, CaseIterable, Codable, Sendable { case word, wordpiece }
    public var tokens: Tokens = .word
    public var activation = TransformerBlock.Activation.gelu
    public var layers = 1
    public var width = 128
    public var epochs = 5
    public var batchSize = 64
    public var learningRate = 1e-3
    public var maxLength = 48
    public var minimumCount = 2
    public var limit: Int?

    public init() {}

    public func validate() throws {
        guard (1...1000).contains(epochs), (1...100_000).contains(batchSize), (1...12).contains(layers) else {
            throw TorchError("epochs 1…1000, batch size 1…100000 and layers 1…12, please")
        }
        guard width >= 8, width % 4 == 0 else { throw TorchError("the width must be a multiple of 4 (4 heads), at least 8") }
        guard learningRate > 0, (2...512).contains(maxLength) else { throw TorchError("a positive learning rate and a length of 2…512, please") }
        if let limit, limit < 10 { throw TorchError("a limit needs at least 10 texts per split, got \(limit)") }
    }
}

public struct LanguageModelRecord: Codable, Sendable {
    public var tokens: String
    public var activation: String
    public var parameters: Int
    public var vocabulary: Int
    public var epochs: [EpochReport]
    /// Mean next-token cross-entropy (nats) on the validation texts, and its exponential.
    public var validationLoss: Double
    public var validationPerplexity: Double
    public var trainSeconds: Double
}

/// `glassbox lm train`: a small transformer language model on all the tweets' training texts
/// (next-token prediction), with checkpoints, resumable, saved for the superposition and
/// dictionary-learning work.
public enum LanguageModelRun {
    public static func train(_ options: LanguageModelOptions, seed: UInt64, out: String, resume: Bool = false) throws -> LanguageModelRecord {
        try options.validate()
        try OutputFolder.prepare(out)
        let corpus = try TweetCorpus.bundled(task: .threeClass).prefix(options.limit)
        let encode: (String) -> [Int], vocabularySize: Int, vocabularyMetadata: String
        switch options.tokens {
        case .word:
            let vocabulary = WordVocabulary(building: corpus.train.texts, minimumCount: options.minimumCount)
            (encode, vocabularySize) = (vocabulary.encode, vocabulary.count)
            vocabularyMetadata = String(decoding: try JSONEncoder().encode(vocabulary), as: UTF8.self)
        case .wordpiece:
            let tokenizer = try WordPieceTokenizer.miniLM()
            (encode, vocabularySize) = ({ tokenizer.encode($0) }, tokenizer.count)
            vocabularyMetadata = "minilm-wordpiece"
        }
        func sequences(_ texts: [String]) throws -> Tensor { try Self.sequences(texts, encode: encode, maxLength: options.maxLength + 1) }
        let train = try sequences(corpus.train.texts), validation = try sequences(corpus.validation.texts)
        var configuration = TransformerLanguageModel.Configuration(vocabularySize: vocabularySize)
        (configuration.width, configuration.heads, configuration.mlpWidth) = (options.width, 4, 4 * options.width)
        (configuration.layers, configuration.maxLength, configuration.activation) = (options.layers, options.maxLength, options.activation)
        let model = try TransformerLanguageModel(configuration, generator: Generator(seed: seed))
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: options.learningRate),
                              loss: TransformerLanguageModel.loss)
        trainer.batchSize = options.batchSize
        trainer.seed = seed
        trainer.checkpointPath = path(out, "checkpoint.safetensors")
        trainer.settings = "lm \(options.tokens.rawValue) \(options.activation.rawValue) layers \(options.layers) width \(options.width) batch \(options.batchSize) lr \(options.learningRate) length \(options.maxLength) seed \(seed)"
        if !resume, FileManager.default.fileExists(atPath: trainer.checkpointPath!) { try FileManager.default.removeItem(atPath: trainer.checkpointPath!) }
        let (inputs, targets) = try split(train), (validationInputs, validationTargets) = try split(validation)
        func validationLoss() throws -> Double {
            model.eval()
            return try meanLoss(model, inputs: validationInputs, targets: validationTargets)
        }
        ProgressObserver.note("training a \(options.layers)-layer \(options.activation.rawValue) language model (\(model.parameterCount) parameters, \(vocabularySize) tokens) on \(inputs.shape[0]) texts")
        let started = Date()
        let history = try trainer.fit(inputs: inputs, targets: targets, epochs: options.epochs) { report in
            let loss = try validationLoss()
            ProgressObserver.note(String(format: "epoch %2d  train loss %.4f  validation loss %.4f  perplexity %.1f  (%.1fs)",
                                         report.epoch, report.loss, loss, Foundation.exp(loss), report.seconds))
        }
        let loss = try validationLoss()
        let record = LanguageModelRecord(tokens: options.tokens.rawValue, activation: options.activation.rawValue, parameters: model.parameterCount,
                                         vocabulary: vocabularySize, epochs: history, validationLoss: loss, validationPerplexity: Foundation.exp(loss),
                                         trainSeconds: Date().timeIntervalSince(started))
        try Safetensors.write(model.stateDict(), metadata: ["glassbox.architecture": "language-model",
                                                            "glassbox.lm.configuration": String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self),
                                                            "glassbox.lm.vocabulary": vocabularyMetadata], to: path(out, "model.safetensors"))
        try JSONFile.write(record, to: path(out, "metrics.json"))
        return record
    }

    /// Inputs and next-token targets of padded token sequences (N, T + 1): (N, T) each.
    static func split(_ ids: Tensor) throws -> (inputs: Tensor, targets: Tensor) {
        let t = ids.shape[1]
        return (try ids.slice(dim: 1, start: 0, end: t - 1).contiguous(), try ids.slice(dim: 1, start: 1, end: t).contiguous())
    }

    /// Mean next-token cross-entropy over the real target tokens, 256 sequences a pass (hooks
    /// attached by the caller apply).
    static func meanLoss(_ model: TransformerLanguageModel, inputs: Tensor, targets: Tensor) throws -> Double {
        var total = 0.0, tokens = 0.0
        for start in stride(from: 0, to: inputs.shape[0], by: 256) {
            let end = Swift.min(start + 256, inputs.shape[0])
            let x = try inputs.slice(dim: 0, start: start, end: end), y = try targets.slice(dim: 0, start: start, end: end)
            let count = try y.ne(0).to(.float64).sum().item()
            total += try noGrad { try TransformerLanguageModel.loss(model(x), y) }.item() * count
            tokens += count
        }
        return total / Swift.max(tokens, 1)
    }

    /// The texts of at least two tokens as one padded batch of at most `maxLength` tokens each.
    static func sequences(_ texts: [String], encode: (String) -> [Int], maxLength: Int) throws -> Tensor {
        try TokenBatch(texts.map { encode($0) }.filter { $0.count >= 2 }, padding: 0, maxLength: maxLength).ids
    }
}
