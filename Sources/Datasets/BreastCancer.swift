import Foundation
import Torch

/// A labelled table: features (N, F) float32, labels (N) int64, with names.
public struct LabelledTable {
    public let features: Tensor
    public let labels: Tensor
    public let featureNames: [String]
    public let classNames: [String]

    public var count: Int { labels.count }

    public init(features: Tensor, labels: Tensor, featureNames: [String], classNames: [String]) {
        self.features = features
        self.labels = labels
        self.featureNames = featureNames
        self.classNames = classNames
    }
}

/// The Wisconsin diagnostic breast-cancer data (Street, Wolberg & Mangasarian; UCI, CC BY 4.0)
/// as scikit-learn 1.3.2 ships it: 569 tumours, 30 measurements of cell nuclei, malignant or
/// benign. `tools/extract_breast_cancer.py` wrote the bundled CSV with a fixed stratified
/// 80/20 split (454 train, 115 test).
public enum BreastCancer {
    public static let classNames = ["malignant", "benign"]

    /// The bundled split, each feature standardised with the training set's mean and
    /// standard deviation (so relevances compare across features).
    public static func bundled() throws -> (train: LabelledTable, test: LabelledTable) {
        guard let folder = Bundle.module.url(forResource: "breast-cancer", withExtension: nil) else {
            throw TorchError("the bundled breast-cancer data is missing from this build (Sources/Datasets/Resources/breast-cancer)")
        }
        return try load(csv: String(contentsOf: folder.appendingPathComponent("breast_cancer.csv"), encoding: .utf8))
    }

    /// Parses the bundled CSV layout: a header of feature names then "target" and "split",
    /// one row per example.
    public static func load(csv: String) throws -> (train: LabelledTable, test: LabelledTable) {
        var lines = csv.split(separator: "\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { throw TorchError("the breast-cancer CSV is empty") }
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        guard header.count > 2, header.suffix(2) == ["target", "split"] else {
            throw TorchError("the breast-cancer CSV header must end with target,split")
        }
        let names = Array(header.dropLast(2))
        var values: [String: [Float]] = ["train": [], "test": []]
        var labels: [String: [Int64]] = ["train": [], "test": []]
        for (number, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count, let target = Int64(fields[names.count]), (0...1).contains(target),
                  let part = values.keys.first(where: { $0 == fields[names.count + 1] }) else {
                throw TorchError("line \(number + 2) of the breast-cancer CSV is malformed")
            }
            let row = fields.prefix(names.count).compactMap { Float($0) }
            guard row.count == names.count, row.allSatisfy(\.isFinite) else {
                throw TorchError("line \(number + 2) of the breast-cancer CSV has a non-numeric feature")
            }
            values[part]! += row
            labels[part]!.append(target)
        }
        let train = try Tensor(values["train"]!, shape: [labels["train"]!.count, names.count])
        let test = try Tensor(values["test"]!, shape: [labels["test"]!.count, names.count])
        let mean = try train.mean(dims: [0], keepDims: true)
        let deviation = try (train - mean).pow(2).mean(dims: [0], keepDims: true).sqrt().clamp(min: 1e-12)
        func table(_ x: Tensor, _ part: String) throws -> LabelledTable {
            LabelledTable(features: try (x - mean) / deviation, labels: try Tensor(labels[part]!),
                          featureNames: names, classNames: classNames)
        }
        return (try table(train, "train"), try table(test, "test"))
    }
}
