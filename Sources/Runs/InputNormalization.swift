import Foundation
import Torch

/// Per-channel normalisation of model inputs, (x − mean) / std, for models trained on
/// normalised images (torchvision's ImageNet models). PNG inputs are read into [0, 1] first.
public struct InputNormalization {
    public let mean: [Double], std: [Double]

    public static let help = "Normalise inputs per channel before the model: 'imagenet' (torchvision's mean and std) or MEAN,…/STD,… (e.g. 0.5,0.5,0.5/0.25,0.25,0.25). Attributions are then with respect to the normalised input (baselines too: zeros is the mean colour); heat maps are drawn over the original image."

    /// Parses "imagenet" or "m1,m2,…/s1,s2,…".
    public init(parsing text: String) throws {
        if text == "imagenet" {
            (mean, std) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
            return
        }
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        let numbers = halves.map { $0.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) } }
        guard halves.count == 2, numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0?.isFinite == true } }),
              numbers[0].count == numbers[1].count else {
            throw TorchError("--normalize takes 'imagenet' or MEAN,…/STD,… with one mean and one std per channel; got '\(text)'")
        }
        (mean, std) = (numbers[0].map { $0! }, numbers[1].map { $0! })
        guard std.allSatisfy({ $0 > 0 }) else { throw TorchError("--normalize: every std must be positive; got '\(text)'") }
    }

    /// Normalises a batch (N, C, …) with C equal to the number of means.
    public func callAsFunction(_ batch: Tensor) throws -> Tensor {
        guard batch.rank >= 2, batch.shape[1] == mean.count else {
            throw TorchError("--normalize gives \(mean.count) channel(s), the input has shape \(batch.shape)")
        }
        let shape = [1, mean.count] + Array(repeating: 1, count: batch.rank - 2)
        let m = try Tensor(mean.map { Float($0) }, shape: shape), s = try Tensor(std.map { Float($0) }, shape: shape)
        return try (batch - m) / s
    }
}
