import ExplanationCore
import Concepts
import Datasets
import Foundation
import NN
import Torch

/// A trained SENN with what explaining it needs: class and concept names and the input shape.
public struct SENNFile {
    public let model: SENN
    public let dataset: SENNDataset
    public let classNames: [String]
    /// One name per concept (feature names for tabular data, "concept 1…k" for learnt ones).
    public let conceptNames: [String]

    /// One input's shape: an MNIST image, or one row of features (the concepts).
    public var inputShape: [Int] { dataset == .mnist ? MNIST.imageShape : [model.concepts] }

    /// Writes the model with its descriptions and returns them, as `load` would read them back.
    @discardableResult
    public static func save(_ model: SENN, dataset: SENNDataset, data: SENNData, nonnegativeConcepts: Bool = false, to path: String) throws -> SENNFile {
        let architecture = dataset == .mnist ? ModelFile.sennMNIST : ModelFile.sennTabular
        let names = data.featureNames ?? (1...model.concepts).map { "concept \($0)" }
        let details = [
            "glassbox.senn.concepts": String(model.concepts), "glassbox.senn.classes": String(model.classes),
            "glassbox.senn.dataset": dataset.rawValue, "glassbox.senn.nonnegative-concepts": nonnegativeConcepts ? "1" : "0",
            "glassbox.senn.class-names": try jsonString(data.classNames), "glassbox.senn.concept-names": try jsonString(names),
        ]
        try ModelFile.save(model, architecture: architecture, details: details, to: path)
        return SENNFile(model: model, dataset: dataset, classNames: data.classNames, conceptNames: names)
    }

    public static func load(_ path: String) throws -> SENNFile {
        guard FileManager.default.fileExists(atPath: path) else { throw TorchError("model file not found: \(path)") }
        let (tensors, metadata) = try Safetensors.read(path)
        guard let dataset = metadata["glassbox.senn.dataset"].flatMap(SENNDataset.init(rawValue:)),
              let concepts = metadata["glassbox.senn.concepts"].flatMap(Int.init),
              let classes = metadata["glassbox.senn.classes"].flatMap(Int.init),
              let classNames = try metadata["glassbox.senn.class-names"].map(strings),
              let conceptNames = try metadata["glassbox.senn.concept-names"].map(strings),
              classNames.count == classes, conceptNames.count == concepts else {
            throw TorchError("\(path) is not a SENN written by `glassbox senn train` (its metadata lacks the concept and class descriptions)")
        }
        let model = try SENNRun.makeModel(dataset, concepts: concepts, features: concepts, classes: classes,
                                          nonnegativeConcepts: metadata["glassbox.senn.nonnegative-concepts"] == "1", generator: nil)
        try model.loadStateDict(tensors)
        model.eval()
        return SENNFile(model: model, dataset: dataset, classNames: classNames, conceptNames: conceptNames)
    }

    private static func jsonString(_ strings: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(strings), as: UTF8.self)
    }

    private static func strings(_ json: String) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(json.utf8))
    }
}
