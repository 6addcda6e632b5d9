import Datasets
import Foundation
import Torch

/// The one image that invert, dream and dip work on: a file holding exactly one image (read as
/// the model file expects, when there is one), or a bundled MNIST test digit.
public enum SingleImage {
    public static func load(file: String?, digit index: Int, model: LoadedModel?) throws -> (image: Tensor, name: String) {
        if let file {
            let batch = try model?.inputs(from: file).batch ?? InputFile.load(file, expecting: nil).batch
            guard batch.rank == 4, batch.shape[0] == 1 else { throw TorchError("\(file) holds \(batch.shape[0]) images of shape \(Array(batch.shape.dropFirst())); give one image (C, H, W)") }
            return (try batch[0], (file as NSString).lastPathComponent)
        }
        let test = try MNIST.bundled().test
        guard (0..<test.images.shape[0]).contains(index) else { throw TorchError("--index must be below \(test.images.shape[0])") }
        return (try test.images[index], "test digit \(index) (a \(try test.labels[index].itemInt()))")
    }
}
