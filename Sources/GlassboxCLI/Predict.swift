import ArgumentParser
import Foundation
import Runs
import Torch

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify inputs with a trained model.",
        discussion: "Inputs: PNG, .npy or .safetensors. For a Glassbox MNIST model: 28×28 PNGs (converted to gray) or arrays of shape (28, 28), (1, 28, 28) or (N, 1, 28, 28) with values in [0, 1] (uint8 is scaled by 1/255). ResNet-18 state dicts and TorchScript models get image conventions: (H, W) is one grayscale image, (C, H, W) one image, (N, C, H, W) a batch; PNGs are read as RGB in [0, 1] (use --normalize imagenet for torchvision's ImageNet models)."
    )

    @Option(help: "A Glassbox model.safetensors, a torchvision ResNet-18 state dict (safetensors) or a TorchScript file.")
    var model: String

    @Argument(help: "Input files.")
    var inputs: [String]

    @Option(help: "How many most likely classes to print per input.")
    var top: Int = 3

    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input file") }
        try validateNormalization(normalize)
        if !(1...10).contains(top) { throw ValidationError("--top must be between 1 and 10") }
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        let normalization = try normalize.map(InputNormalization.init(parsing:))
        for path in inputs {
            let (batch, names) = try loaded.inputs(from: path)
            let input = try normalization?(batch) ?? batch
            let probabilities = try noGrad { try loaded(input).softmax(dim: 1) }
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
