import Datasets
import Foundation
import NN
import TextModels
import Torch
import Transparent

/// A trained text classifier on disk: its weights, and in the metadata its architecture, task,
/// configuration and word vocabulary, so it reloads without its training run.
public struct TextModelFile {
    public let architecture: TextArchitecture
    public let task: TweetCorpus.Task
    let tensors: [String: Tensor]
    let configuration: Data
    let vocabulary: WordVocabulary?
    let maxLength: Int

    static func save(_ tensors: [String: Tensor], architecture: TextArchitecture, task: TweetCorpus.Task, configuration: String,
                     vocabulary: WordVocabulary?, maxLength: Int, to path: String) throws {
        var metadata = ["glassbox.architecture": "text-\(architecture.rawValue)", "glassbox.text.task": task.rawValue,
                        "glassbox.text.configuration": configuration, "glassbox.text.max-length": String(maxLength)]
        if let vocabulary { metadata["glassbox.text.vocabulary"] = String(decoding: try JSONEncoder().encode(vocabulary), as: UTF8.self) }
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    public static func load(_ path: String) throws -> TextModelFile {
        let (tensors, metadata) = try Safetensors.read(path)
        guard let kind = metadata["glassbox.architecture"], kind.hasPrefix("text-"),
              let architecture = TextArchitecture(rawValue: String(kind.dropFirst(5))),
              let task = metadata["glassbox.text.task"].flatMap(TweetCorpus.Task.init(rawValue:)),
              let configuration = metadata["glassbox.text.configuration"], let maxLength = metadata["glassbox.text.max-length"].flatMap(Int.init) else {
            throw TorchError("\(path) is not a text classifier written by `glassbox text train`")
        }
        let vocabulary = try metadata["glassbox.text.vocabulary"].map { try JSONDecoder().decode(WordVocabulary.self, from: Data($0.utf8)) }
        guard architecture == .minilmProbe || vocabulary != nil else { throw TorchError("\(path) lacks its word vocabulary") }
        return TextModelFile(architecture: architecture, task: task, tensors: tensors, configuration: Data(configuration.utf8),
                             vocabulary: vocabulary, maxLength: maxLength)
    }

    /// The trained network (not for the MiniLM probe, which has no network of its own).
    public func network() throws -> Module {
        let model: Module
        switch architecture {
        case .bilstmAttention: model = try BiLSTMAttentionClassifier(JSONDecoder().decode(BiLSTMAttentionClassifier.Configuration.self, from: configuration))
        case .transformer: model = try TransformerClassifier(JSONDecoder().decode(TransformerClassifier.Configuration.self, from: configuration))
        case .minilmProbe: throw TorchError("the MiniLM probe is a logistic regression on MiniLM's embeddings, not a network of its own")
        }
        try model.loadStateDict(tensors)
        model.eval()
        return model
    }

    /// Token ids (N, T) for texts, as the network was trained on them.
    public func ids(_ texts: [String]) throws -> Tensor {
        try TokenBatch(sequences(texts), padding: WordVocabulary.padding, maxLength: maxLength).ids
    }

    /// Each text's word ids as the network reads them, unpadded.
    public func sequences(_ texts: [String]) throws -> [[Int]] {
        guard let vocabulary else { throw TorchError("the MiniLM probe tokenizes with MiniLM's own WordPiece vocabulary") }
        return Self.sequences(texts, vocabulary: vocabulary).map { Array($0.prefix(maxLength)) }
    }

    /// Word ids, padded into one batch.
    static func ids(_ texts: [String], vocabulary: WordVocabulary, maxLength: Int) throws -> Tensor {
        try TokenBatch(sequences(texts, vocabulary: vocabulary), padding: WordVocabulary.padding, maxLength: maxLength).ids
    }

    /// A text without words is one [UNK].
    static func sequences(_ texts: [String], vocabulary: WordVocabulary) -> [[Int]] {
        texts.map { let ids = vocabulary.encode($0); return ids.isEmpty ? [WordVocabulary.unknown] : ids }
    }

    /// The MiniLM probe as one network (encoder and head) with MiniLM's tokenizer.
    public func probe(minilm: String? = nil) throws -> (model: SentenceProbeClassifier, tokenizer: WordPieceTokenizer) {
        guard architecture == .minilmProbe, let weights = tensors["weights"], let bias = tensors["bias"] else {
            throw TorchError("this is a \(architecture.rawValue) model, not the MiniLM probe")
        }
        let (encoder, tokenizer) = try MiniLMFiles.load(MiniLMFiles.folder(explicit: minilm))
        return (try SentenceProbeClassifier(encoder: encoder, weights: weights, bias: bias), tokenizer)
    }

    /// The vocabulary's words for a row of ids (padding dropped).
    public func tokens(_ ids: Tensor) throws -> [String] {
        guard let vocabulary else { throw TorchError("the MiniLM probe has no word vocabulary") }
        return try ids[0].scalars(as: Int64.self).filter { $0 != Int64(WordVocabulary.padding) }.map { vocabulary.words[Int($0)] }
    }

    public func classify(_ texts: [String], minilm: String? = nil) throws -> [Int] {
        guard architecture == .minilmProbe else { return try TextRun.predict(network(), ids(texts)) }
        guard let weights = tensors["weights"], let bias = tensors["bias"] else { throw TorchError("the probe file lacks its weights") }
        let head = try LogisticRegression(weights: weights, bias: bias)
        let (model, tokenizer) = try MiniLMFiles.load(MiniLMFiles.folder(explicit: minilm))
        return try head.predict(SentenceEmbedding.embed(texts, model: model, tokenizer: tokenizer)).scalars(as: Int64.self).map { Int($0) }
    }
}
