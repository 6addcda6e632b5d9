import Foundation
import Testing
import TestSupport
@testable import Datasets
import Torch

enum TextFixture {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static func json(_ name: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(name))) }
}

@Suite("Tweet corpus and tokenizers")
struct TextTests {
    @Test("the bundled corpus has the extraction's split sizes for both tasks")
    func corpusSplits() throws {
        let reference = try TextFixture.json("tweets_reference.json") as? [String: Any]
        let counts = reference?["counts"] as? [String: [String: Int]] ?? [:]
        let three = try TweetCorpus.bundled(task: .threeClass)
        for (name, part) in [("train", three.train), ("validation", three.validation), ("test", three.test)] {
            for (index, sentiment) in ["negative", "neutral", "positive"].enumerated() {
                #expect(part.labels.filter { $0 == index }.count == counts[name]?[sentiment], "\(name) \(sentiment)")
            }
        }
        let binary = try TweetCorpus.bundled(task: .binary)
        #expect(binary.train.count == (reference?["binary"] as? [String: Any])?["train"] as? Int)
        #expect(binary.test.count == (reference?["binary"] as? [String: Any])?["test"] as? Int)
        #expect(Set(binary.train.labels) == [0, 1] && binary.train.classNames == ["negative", "positive"])
        #expect(three.train.texts.allSatisfy { !$0.isEmpty })
        for task in TweetCorpus.Task.allCases {
            let figures = reference?[task.rawValue] as? [String: Any]
            // Foundation's JSON parser may round the last digit differently.
            #expect(Swift.abs(task.reference.accuracy - (figures?["accuracy"] as? Double ?? 0)) < 1e-12)
            #expect(Swift.abs(task.reference.macroF1 - (figures?["macro_f1"] as? Double ?? 0)) < 1e-12)
        }
    }

    @Test("WordPiece gives Hugging Face's ids for every 9th corpus text (4,062 texts)")
    func corpusParity() throws {
        let tokenizer = try WordPieceTokenizer.miniLM()
        #expect(tokenizer.count == 30522)
        let fixture = try Safetensors.read(TextFixture.folder.appendingPathComponent("wordpiece_corpus.safetensors").path).tensors
        let rows = try fixture["rows"]!.scalars(as: Int64.self), offsets = try fixture["offsets"]!.scalars(as: Int64.self)
        let ids = try fixture["ids"]!.scalars(as: Int32.self)
        let corpus = try TweetCorpus.bundled(task: .threeClass)
        let texts = corpus.train.texts + corpus.validation.texts + corpus.test.texts
        var mismatches: [String] = []
        for (index, row) in rows.enumerated() {
            let expected = ids[Int(offsets[index])..<Int(offsets[index + 1])].map(Int.init)
            let ours = tokenizer.encode(texts[Int(row)])
            if ours != expected { mismatches.append("row \(row): \(texts[Int(row)].debugDescription)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) texts differ, e.g. \(mismatches.prefix(3))")
    }

    @Test("WordPiece matches Hugging Face on accents, emoji, CJK, URLs, control characters and very long words")
    func oddTexts() throws {
        let tokenizer = try WordPieceTokenizer.miniLM()
        let cases = try TextFixture.json("wordpiece_cases.json") as? [[String: Any]] ?? []
        #expect(cases.count >= 30)
        for entry in cases {
            let text = entry["text"] as! String, expected = entry["ids"] as! [Int]
            let ours = tokenizer.encode(text)
            #expect(ours == expected, "\(text.debugDescription): \(tokenizer.tokenize(text)) vs \(expected.map { tokenizer.vocabulary[$0] })")
        }
    }

    @Test("a word vocabulary counts the training texts, keeps padding and unknown at 0 and 1, and round-trips as JSON")
    func wordVocabulary() throws {
        let vocabulary = WordVocabulary(building: ["The car, the car!", "a CAR drives", "the end"], minimumCount: 2)
        #expect(vocabulary.words == ["[PAD]", "[UNK]", "car", "the"])
        #expect(vocabulary.encode("The bus: a car") == [3, 1, 1, 1, 2])
        let decoded = try JSONDecoder().decode(WordVocabulary.self, from: JSONEncoder().encode(vocabulary))
        #expect(decoded.encode("the car") == [3, 2])
    }

    @Test("batches pad to the longest sequence with a mask, and buckets group similar lengths")
    func batching() throws {
        let batch = try TokenBatch([[5, 6, 7], [8], []], padding: 0, maxLength: 2)
        #expect(batch.ids.shape == [3, 2] && batch.lengths == [2, 1, 0])
        #expect(try batch.ids.flattened().scalars(as: Int64.self) == [5, 6, 8, 0, 0, 0])
        #expect(try batch.mask.flattened().scalars(as: Bool.self) == [true, true, true, false, false, false])
        let lengths = [9, 1, 5, 3, 7, 2, 8]
        let buckets = try TokenBatch.buckets(lengths: lengths, batchSize: 3, generator: Generator(seed: 1))
        #expect(buckets.flatMap { $0 }.sorted() == Array(0..<7))
        for bucket in buckets where bucket.count == 3 {
            let spread = bucket.map { lengths[$0] }
            #expect(spread.max()! - spread.min()! <= 3)
        }
        // Without a generator: shortest first, ties by position; with one, ties fall differently.
        #expect(try TokenBatch.buckets(lengths: [2, 1, 2, 2, 1], batchSize: 2) == [[1, 4], [0, 2], [3]])
        let shuffled = try (0..<8).map { try TokenBatch.buckets(lengths: [1, 1, 1, 1, 1, 1], batchSize: 3, generator: Generator(seed: UInt64($0))) }
        #expect(Set(shuffled.map { $0.map { $0.sorted() }.sorted { $0[0] < $1[0] } }).count > 1)
        #expect(try TokenBatch.trimmed(batch.ids).shape == [3, 2])
        #expect(try TokenBatch.trimmed(Tensor([4, 0, 0, 5, 6, 0], shape: [2, 3])).scalars(as: Int64.self) == [4, 0, 5, 6])
        #expect(errorMessage { _ = try TokenBatch([], padding: 0) } != nil)
    }

    @Test("basic tokenisation splits punctuation, strips accents and pads CJK characters")
    func basicTokenizer() {
        let tokenizer = BasicTokenizer()
        #expect(tokenizer.tokenize("Héllo,  WORLD!!") == ["hello", ",", "world", "!", "!"])
        #expect(tokenizer.tokenize("中文ab") == ["中", "文", "ab"])
        #expect(tokenizer.tokenize("a\u{0}b\tc") == ["ab", "c"])
    }
}
