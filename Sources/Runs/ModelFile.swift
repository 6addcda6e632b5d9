import ExplanationCore
import Attribution
import Datasets
import Foundation
import NN
import Torch

/// A trained model loaded from a file, ready to run and to explain.
public struct LoadedModel {
    public internal(set) var model: Explainable
    /// One input's shape (no batch dimension), when the file says it.
    public let inputShape: [Int]?
    /// Input channels when only they are fixed (ResNet-18: 3, any image size).
    public var inputChannels: Int? = nil
    /// The SENN file's description, when the model is a SENN.
    public var senn: SENNFile? = nil
    /// The Glassbox architecture name (`ModelFile.mnistCNN`, …), when the file says it.
    public var architecture: String? = nil

    /// A batch read from an input file, in the shape and channels this model takes.
    public func inputs(from path: String) throws -> (batch: Tensor, names: [String]) {
        try InputFile.load(path, expecting: inputShape, channels: inputChannels)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        do {
            return try model(x)
        } catch let error as TorchError {
            throw TorchError("the model rejected an input batch of shape \(x.shape): \(error.message)")
        }
    }
}

/// A loaded model whose every output is checked: (N, classes) or (N, positions, classes) with the
/// input's N, at least one class, and finite values. A TorchScript model traced for another batch
/// size, a classifier without classes, or an input that overflows the model gives an error naming
/// what came back, never a crash or NaN written to a file.
public struct CheckedModel: Explainable {
    let base: Explainable

    public init(_ base: Explainable) {
        self.base = base
    }

    public var module: Module? { base.module }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y = try base(x)
        guard (2...3).contains(y.rank), y.shape[0] == x.shape.first, y.shape.last! > 0 else {
            throw TorchError("the model returned shape \(y.shape) for \(x.shape.first ?? 0) inputs; expected (N, classes) with N = \(x.shape.first ?? 0) and at least one class\(y.rank >= 1 && y.shape[0] != x.shape.first ? " (a TorchScript model traced for one batch size takes only that batch size)" : "")")
        }
        guard try y.allFinite() else {
            throw TorchError("the model returned NaN or infinite outputs for inputs of shape \(x.shape) (largest input magnitude \(try x.abs().max().item())); check the inputs' scale and the model")
        }
        return y
    }
}

/// Model files: a Glassbox safetensors model, a torchvision ResNet-18 state dict in safetensors,
/// or a TorchScript file.
public enum ModelFile {
    public static let architectureKey = "glassbox.architecture"
    public static let mnistCNN = "mnist-cnn"
    public static let resNet18 = "resnet18"

    public static let sennMNIST = "senn-mnist"
    public static let sennTabular = "senn-tabular"

    /// Writes a native model's weights with its architecture (and any `details`) in the metadata.
    public static func save(_ model: Module, architecture: String, details: [String: String] = [:], to path: String) throws {
        try Safetensors.write(model.stateDict(), metadata: details.merging([architectureKey: architecture]) { $1 }, to: path)
    }

    /// Loads a model in evaluation mode; every call to it checks what it returns (`CheckedModel`).
    public static func load(_ path: String) throws -> LoadedModel {
        var loaded = try loadUnchecked(path)
        if let module = loaded.model.module { try checkFinite(module, path: path) }
        loaded.model = CheckedModel(loaded.model)
        return loaded
    }

    /// Refuses weights that are NaN or infinite: they would give NaN for every input.
    static func checkFinite(_ module: Module, path: String) throws {
        for (name, tensor) in module.namedParameters() + module.namedBuffers() where tensor.dtype.isFloatingPoint {
            guard try tensor.allFinite() else { throw TorchError("\(path) holds NaN or infinite values in '\(name)'; the model file is damaged or its training diverged") }
        }
    }

    static func loadUnchecked(_ path: String) throws -> LoadedModel {
        try Limits.regularFile(path, what: "model file")
        if try isTorchScript(path) {
            return LoadedModel(model: try ScriptModule(contentsOf: path), inputShape: nil)
        }
        let (tensors, metadata) = try Safetensors.read(path)
        guard let architecture = metadata[architectureKey] ?? (isResNet18(tensors) ? resNet18 : nil) else {
            throw TorchError("\(path) has no '\(architectureKey)' metadata: it was not written by Glassbox. Pass a Glassbox model.safetensors, a torchvision ResNet-18 state dict saved with safetensors, or a TorchScript file")
        }
        if architecture == sennMNIST || architecture == sennTabular {
            let file = try SENNFile.load(path)
            return LoadedModel(model: file.model, inputShape: file.inputShape, senn: file)
        }
        if architecture == resNet18 {
            guard let classifier = tensors["fc.weight"], classifier.rank == 2, classifier.shape[0] > 0 else {
                throw TorchError("\(path) is a ResNet-18 without an fc.weight of shape (classes, 512) with at least one class")
            }
            let model = try ResNet18(classes: classifier.shape[0])
            do {
                try model.loadStateDict(tensors)
            } catch let error as TorchError {
                throw TorchError("\(path) does not fit torchvision's ResNet-18: \(error.message)")
            }
            model.eval()
            return LoadedModel(model: model, inputShape: nil, inputChannels: 3)
        }
        guard architecture == mnistCNN else {
            throw TorchError("\(path) holds architecture '\(architecture)', which this version cannot build (known: \(mnistCNN), \(resNet18), \(sennMNIST), \(sennTabular))")
        }
        let model = try Architectures.mnistCNN()
        try model.loadStateDict(tensors)
        model.eval()
        return LoadedModel(model: model, inputShape: MNIST.imageShape, architecture: mnistCNN)
    }

    /// A state dict with torchvision's ResNet-18 names, as `safetensors.torch.save_file(model.state_dict(), path)` writes it.
    public static func isResNet18(_ tensors: [String: Tensor]) -> Bool {
        ["conv1.weight", "bn1.running_var", "layer4.1.conv2.weight", "layer4.1.bn2.running_var", "fc.weight"].allSatisfy { tensors[$0] != nil }
    }

    /// TorchScript files are zip archives (they start with "PK").
    public static func isTorchScript(_ path: String) throws -> Bool {
        try Limits.regularFile(path, what: "model file")
        guard let handle = FileHandle(forReadingAtPath: path) else { throw TorchError("cannot open model file \(path)") }
        defer { try? handle.close() }
        return (try handle.read(upToCount: 2)) == Data("PK".utf8)
    }
}

/// Reads model inputs from PNG, .npy or safetensors files.
public enum InputFile {
    /// A float32 batch and a name per example. With `expected` (one input's shape),
    /// PNGs are converted to its channel count and every shape is checked. Without it
    /// (TorchScript), image conventions apply: (H, W) is one grayscale image, (C, H, W)
    /// one image, (N, C, H, W) a batch, and a vector (F) one example.
    /// `channels`: the model's input channels when only they are known; grayscale PNGs are
    /// then repeated into three channels for a 3-channel model.
    public static func load(_ path: String, expecting expected: [Int]?, channels: Int? = nil) throws -> (batch: Tensor, names: [String]) {
        let name = (path as NSString).lastPathComponent
        let lower = path.lowercased()
        var tensor: Tensor
        if lower.hasSuffix(".png") {
            let (width, height) = try PNG.size(of: path)
            if let expected, expected.count == 3, width != expected[2] || height != expected[1] {
                throw TorchError("\(path) is \(width)×\(height); the model expects \(expected[2])×\(expected[1])\(expected[0] == 1 ? " grayscale digits (white on black, like MNIST)" : "")")
            }
            var image = try PNG.read(path)
            if expected?.first == 1 { image = try image.grayscale() }
            tensor = try image.tensor()
            if channels == 3, tensor.shape[0] == 1 { tensor = try tensor.expanded(to: [3] + Array(tensor.shape.dropFirst())).contiguous() }
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
        tensor = tensor.dtype == .uint8 ? try tensor.to(.float32) / 255.0 : try tensor.to(.float32)
        if let expected {
            if tensor.shape == expected { tensor = try tensor.unsqueezed(dim: 0) }
            else if expected.first == 1, tensor.shape == Array(expected.dropFirst()) { tensor = try tensor.reshaped([1] + expected) }
            else if tensor.rank != expected.count + 1 || Array(tensor.shape.dropFirst()) != expected {
                let accepted = ((expected.first == 1 ? [Array(expected.dropFirst())] : []) + [expected, [-1] + expected])
                    .map { "(" + $0.map { $0 == -1 ? "N" : String($0) }.joined(separator: ", ") + ")" }
                throw TorchError("\(path) has shape \(tensor.shape); expected \(accepted.dropLast().joined(separator: ", ")) or \(accepted.last!)")
            }
        } else if tensor.rank == 2 {
            tensor = try tensor.reshaped([1, 1] + tensor.shape)
        } else if tensor.rank != 4 {
            tensor = try tensor.unsqueezed(dim: 0)
        }
        guard tensor.shape.first ?? 0 > 0 else { throw TorchError("\(path) holds no examples (shape \(tensor.shape))") }
        guard try tensor.allFinite() else { throw TorchError("\(path) contains NaN or infinite values") }
        let n = tensor.shape[0]
        return (tensor, n == 1 ? [name] : (0..<n).map { "\(name)[\($0)]" })
    }
}
