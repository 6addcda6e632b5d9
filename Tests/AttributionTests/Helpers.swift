import Foundation
import TestSupport
import ExplanationCore
@testable import Attribution
import NN
import Torch

enum Fixture {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
    }

    static let captum: [String: Tensor] = try! Safetensors.read(path("captum.safetensors")).tensors
    /// The same attributions computed in float64 (tools/make_float64_references.py).
    static let float64: [String: Tensor] = try! Safetensors.read(path("captum_float64.safetensors")).tensors
}

/// The two Captum reference models, with their fixture prefixes and layer names.
struct ReferenceModel: CustomStringConvertible, Sendable {
    let prefix: String
    let layer: String
    let neuron: Neuron

    static let cnn = ReferenceModel(prefix: "cnn.", layer: "3", neuron: Neuron("8", [5]))
    static let mlp = ReferenceModel(prefix: "mlp.", layer: "0", neuron: Neuron("2", [1]))
    static let all = [cnn, mlp]

    var description: String { prefix == "cnn." ? "CNN" : "MLP" }

    func model() throws -> Sequential {
        if prefix == "cnn." {
            let model = try Architectures.mnistCNN()
            try model.loadStateDict(Safetensors.read(Fixture.path("cnn_weights.safetensors")).tensors)
            model.eval()
            return model
        }
        let model = Sequential([try Linear(6, 8), ReLU(), try Linear(8, 3)])
        try model.loadStateDict(Safetensors.read(Fixture.path("mlp_weights.safetensors")).tensors)
        model.eval()
        return model
    }

    func tensor(_ name: String) -> Tensor { Fixture.captum[prefix + name]! }
    var input: Tensor { tensor("input") }
    var target: Target { .indices(try! tensor("targets").scalars(as: Int64.self).map(Int.init)) }
    var mask: Tensor { tensor("mask") }
}


