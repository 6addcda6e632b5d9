import Foundation
import Torch

/// WordPiece (Schuster & Nakajima 2012; Wu et al. 2016) as BERT-uncased and MiniLM use it: basic
/// tokenisation, then each word split greedily into the longest vocabulary pieces, left to right,
/// pieces after the first prefixed with "##"; a word with a character no piece covers, or longer
/// than 100 characters, becomes [UNK]. Ids are line numbers of `vocab.txt`.
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String]
    private let ids: [String: Int]
    public let basic: BasicTokenizer
    public var maxCharactersPerWord = 100

    public let unknown: Int, classification: Int, separator: Int, padding: Int

    public init(vocabulary: [String], basic: BasicTokenizer = BasicTokenizer()) throws {
        var ids: [String: Int] = [:]
        for (index, token) in vocabulary.enumerated() where ids[token] == nil { ids[token] = index }
        func id(_ token: String) throws -> Int {
            guard let id = ids[token] else { throw TorchError("the WordPiece vocabulary has no \(token) token") }
            return id
        }
        self.vocabulary = vocabulary
        self.ids = ids
        self.basic = basic
        (unknown, classification, separator, padding) = (try id("[UNK]"), try id("[CLS]"), try id("[SEP]"), try id("[PAD]"))
    }

    /// Reads a `vocab.txt` (one token per line).
    public init(vocabularyFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw TorchError("cannot read the WordPiece vocabulary \(path)")
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        try self.init(vocabulary: lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 })
    }

    /// MiniLM's (bert-base-uncased's) 30,522-token vocabulary, bundled.
    public static func miniLM() throws -> WordPieceTokenizer {
        guard let url = Bundle.module.url(forResource: "wordpiece", withExtension: nil) else {
            throw TorchError("the bundled WordPiece vocabulary is missing from this build (Sources/Datasets/Resources/wordpiece)")
        }
        return try WordPieceTokenizer(vocabularyFile: url.appendingPathComponent("minilm-vocab.txt").path)
    }

    public var count: Int { vocabulary.count }

    /// The pieces of one word.
    func pieces(_ word: String) -> [Int] {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > maxCharactersPerWord { return [unknown] }
        var result: [Int] = [], start = 0
        while start < scalars.count {
            var end = scalars.count, found: Int?
            while start < end {
                var piece = String(String.UnicodeScalarView(scalars[start..<end]))
                if start > 0 { piece = "##" + piece }
                if let id = ids[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknown] }
            result.append(id)
            start = end
        }
        return result
    }

    /// Token ids of a text, with [CLS] before and [SEP] after when `specialTokens`.
    public func encode(_ text: String, specialTokens: Bool = true) -> [Int] {
        let body = basic.tokenize(text).flatMap(pieces)
        return specialTokens ? [classification] + body + [separator] : body
    }

    /// The tokens of a text as strings (no special tokens).
    public func tokenize(_ text: String) -> [String] { encode(text, specialTokens: false).map { vocabulary[$0] } }
}
