import Datasets
import Foundation
import NN
import TextModels
import Torch

/// A language model written by `glassbox lm train`: the network and its tokens, reloaded from
/// the weights file's metadata.
public struct LanguageModelFile {
    public let model: TransformerLanguageModel
    /// Each token id's text.
    public let tokens: [String]
    public let encode: (String) -> [Int]

    /// Whether `path` holds a language model (reads the header only).
    public static func isLanguageModel(_ path: String) -> Bool {
        (try? Safetensors.readMetadata(path))?["glassbox.architecture"] == "language-model"
    }

    public static func load(_ path: String) throws -> LanguageModelFile {
        let (tensors, metadata) = try Safetensors.read(path)
        guard metadata["glassbox.architecture"] == "language-model", let configuration = metadata["glassbox.lm.configuration"],
              let vocabulary = metadata["glassbox.lm.vocabulary"] else {
            throw TorchError("\(path) is not a language model written by `glassbox lm train`")
        }
        let model = try TransformerLanguageModel(JSONDecoder().decode(TransformerLanguageModel.Configuration.self, from: Data(configuration.utf8)))
        try model.loadStateDict(tensors)
        model.eval()
        if vocabulary == "minilm-wordpiece" {
            let tokenizer = try WordPieceTokenizer.miniLM()
            return LanguageModelFile(model: model, tokens: tokenizer.vocabulary, encode: { tokenizer.encode($0) })
        }
        let words = try JSONDecoder().decode(WordVocabulary.self, from: Data(vocabulary.utf8))
        return LanguageModelFile(model: model, tokens: words.words, encode: words.encode)
    }
}
