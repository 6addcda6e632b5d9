import Datasets
import Foundation
import Torch
import Transparent

/// scikit-learn 1.3.2 references (tools/make_transparent_fixtures.py).
enum Fixture {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let values = try! Safetensors.read(folder.appendingPathComponent("sklearn_transparent.safetensors").path).tensors
    static let mnist = try! MNIST.bundled()

    static func mnistTrain(_ count: Int? = nil) throws -> LabelledFeatures {
        let split = count.map { try! mnist.train.prefix($0) } ?? mnist.train
        return try LabelledFeatures(features: split.images.flattened(from: 1), labels: split.labels, classes: 10)
    }

    static func mnistTest() throws -> LabelledFeatures {
        try LabelledFeatures(features: mnist.test.images.flattened(from: 1), labels: mnist.test.labels, classes: 10)
    }

    static func cancer() throws -> LabelledFeatures {
        try LabelledFeatures(features: values["cancer_x"]!, labels: values["cancer_y"]!, classes: 2)
    }

    static func ints(_ key: String) throws -> [Int] { try values[key]!.scalars(as: Int64.self).map(Int.init) }
    static func doubles(_ key: String) throws -> [Double] { try values[key]!.to(.float64).scalars(as: Double.self) }
}
