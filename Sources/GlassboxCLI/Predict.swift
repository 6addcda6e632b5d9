import ArgumentParser
import Foundation
import Torch

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify digit images with a trained model.",
        discussion: "Inputs: PNG, .npy or .safetensors. For a Glassbox MNIST model: 28×28 PNGs (converted to gray) or arrays of shape (28, 28), (1, 28, 28) or (N, 1, 28, 28) with values in [0, 1] (uint8 is scaled by 1/255). A TorchScript model gets image conventions: (H, W) is one grayscale image, (C, H, W) one image, (N, C, H, W) a batch."
    )

    @Option(help: "A Glassbox model.safetensors or a TorchScript file.")
    var model: String

    @Argument(help: "Input files.")
    var inputs: [String]

    @Option(help: "How many most likely classes to print per input.")
    var top: Int = 3

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input file") }
        if !(1...10).contains(top) { throw ValidationError("--top must be between 1 and 10") }
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        for path in inputs {
            let (batch, names) = try InputFile.load(path, expecting: loaded.inputShape)
            let probabilities = try noGrad { try loaded(batch).softmax(dim: 1) }
            guard probabilities.rank == 2 else { throw TorchError("the model returned shape \(probabilities.shape), expected (N, classes)") }
            let (values, indices) = try probabilities.topk(min(top, probabilities.shape[1]), dim: 1)
            let p = try values.scalars(as: Float.self), k = try indices.scalars(as: Int64.self)
            let width = values.shape[1]
            for (row, name) in names.enumerated() {
                let ranked = (0..<width).map { String(format: "%d (%.3f)", k[row * width + $0], p[row * width + $0]) }
                print("\(name): \(k[row * width])    top: \(ranked.joined(separator: ", "))")
            }
        }
    }
}
