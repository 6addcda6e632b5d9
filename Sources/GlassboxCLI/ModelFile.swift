import Datasets
import Foundation
import NN
import Torch

/// A trained classifier loaded from a file: a Glassbox safetensors model or a TorchScript file.
enum ModelFile {
    static let architectureKey = "glassbox.architecture"
    static let mnistCNN = "mnist-cnn"

    /// Writes a native model's weights with its architecture in the metadata.
    static func save(_ model: Module, architecture: String, to path: String) throws {
        try Safetensors.write(model.stateDict(), metadata: [architectureKey: architecture], to: path)
    }

    /// Loads a model for inference (evaluation mode).
    static func load(_ path: String) throws -> (Tensor) throws -> Tensor {
        guard FileManager.default.fileExists(atPath: path) else { throw TorchError("model file not found: \(path)") }
        if isTorchScript(path) {
            let script = try ScriptModule(contentsOf: path)
            return { try script($0) }
        }
        let (tensors, metadata) = try Safetensors.read(path)
        guard let architecture = metadata[architectureKey] else {
            throw TorchError("\(path) has no '\(architectureKey)' metadata: it was not written by Glassbox. Pass a Glassbox model.safetensors or a TorchScript file")
        }
        guard architecture == mnistCNN else {
            throw TorchError("\(path) holds architecture '\(architecture)', which this version cannot build (known: \(mnistCNN))")
        }
        let model = try Architectures.mnistCNN()
        try model.loadStateDict(tensors)
        model.eval()
        return { try model($0) }
    }

    /// TorchScript files are zip archives (they start with "PK").
    static func isTorchScript(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return handle.readData(ofLength: 2) == Data("PK".utf8)
    }
}

/// Reads inputs for a 28×28 grayscale classifier from PNG, .npy or safetensors files.
enum InputFile {
    /// Returns a (N, 1, 28, 28) float32 batch in [0, 1] and a name per example.
    static func load(_ path: String) throws -> (batch: Tensor, names: [String]) {
        let name = (path as NSString).lastPathComponent
        let lower = path.lowercased()
        let tensor: Tensor
        if lower.hasSuffix(".png") {
            let image = try PNG.read(path).grayscale()
            guard image.width == 28, image.height == 28 else {
                throw TorchError("\(path) is \(image.width)×\(image.height); the model expects 28×28 grayscale digits (white on black, like MNIST)")
            }
            tensor = try image.tensor()
        } else if lower.hasSuffix(".npy") {
            tensor = try NumpyFile.read(path)
        } else if lower.hasSuffix(".safetensors") {
            let (tensors, _) = try Safetensors.read(path)
            guard tensors.count == 1, let only = tensors.values.first else {
                throw TorchError("\(path) holds \(tensors.count) tensors; an input file must hold exactly one")
            }
            tensor = only
        } else {
            throw TorchError("\(path): unknown input type; use .png, .npy or .safetensors")
        }
        var x = tensor.dtype == .uint8 ? try tensor.to(.float32) / 255.0 : try tensor.to(.float32)
        switch x.shape {
        case [28, 28]: x = try x.reshaped([1, 1, 28, 28])
        case [1, 28, 28]: x = try x.unsqueezed(dim: 0)
        case let s where s.count == 4 && Array(s.dropFirst()) == [1, 28, 28]: break
        default:
            throw TorchError("\(path) has shape \(tensor.shape); expected (28, 28), (1, 28, 28) or (N, 1, 28, 28)")
        }
        guard try x.allFinite() else { throw TorchError("\(path) contains NaN or infinite values") }
        let n = x.shape[0]
        return (x, n == 1 ? [name] : (0..<n).map { "\(name)[\($0)]" })
    }
}
