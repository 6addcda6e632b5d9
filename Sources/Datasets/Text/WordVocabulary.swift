import Foundation

/// A word-level vocabulary built from training texts, for models trained from scratch: the basic
/// tokeniser's words and punctuation, kept when they occur at least `minimumCount` times,
/// most frequent first (ties alphabetical); id 0 is [PAD], id 1 is [UNK].
public struct WordVocabulary: Codable, Sendable {
    public static let padding = 0, unknown = 1
    public let words: [String]
    private var ids: [String: Int] = [:]
    public var lowercase = true

    public var count: Int { words.count }

    enum CodingKeys: String, CodingKey { case words, lowercase }

    public init(building texts: [String], minimumCount: Int = 2, maxSize: Int? = nil, lowercase: Bool = true) {
        let tokenizer = BasicTokenizer(lowercase: lowercase)
        var counts: [String: Int] = [:]
        for text in texts { for token in tokenizer.tokenize(text) { counts[token, default: 0] += 1 } }
        var kept = counts.filter { $0.value >= minimumCount }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        if let maxSize { kept = Array(kept.prefix(Swift.max(0, maxSize - 2))) }
        self.init(words: ["[PAD]", "[UNK]"] + kept, lowercase: lowercase)
    }

    public init(words: [String], lowercase: Bool = true) {
        self.words = words
        self.lowercase = lowercase
        for (index, word) in words.enumerated() where ids[word] == nil { ids[word] = index }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(words: try container.decode([String].self, forKey: .words), lowercase: try container.decode(Bool.self, forKey: .lowercase))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(words, forKey: .words)
        try container.encode(lowercase, forKey: .lowercase)
    }

    public func encode(_ text: String) -> [Int] {
        BasicTokenizer(lowercase: lowercase).tokenize(text).map { ids[$0] ?? Self.unknown }
    }
}
