import Foundation
import NN
import Torch

/// Fitting an untrained hourglass network's output to one image from a fixed noise code (Ulyanov,
/// Vedaldi & Lempitsky 2018, "Deep Image Prior"): the network's structure fits natural images long
/// before noise, so its output, stopped early, is a prior. Masked pixels (inpainting) are left out
/// of the loss; a clean reference (denoising) is compared every `every` steps.
public struct DeepImagePrior {
    public var steps = 2000
    public var learningRate = 0.01
    public var width = 64, levels = 3, codeChannels = 32
    /// Loss and (with a reference) PSNR are recorded every this many steps.
    public var every = 25
    public var seed: UInt64 = 0

    public init() {}

    public struct Fit {
        /// (C, H, W) in [0, 1], the network's output at the end.
        public var output: Tensor
        /// The output with the best PSNR against the reference (the early-stopped result), when given.
        public var bestOutput: Tensor?
        /// Mean squared error on the known pixels, every `every` steps (the first at step 0).
        public var losses: [Double]
        /// PSNR against the reference, every `every` steps.
        public var psnr: [Double]
        public var bestStep: Int?
    }

    /// Fits `target` (C, H, W), values in [0, 1]; `mask` (1, H, W) or (C, H, W) marks known pixels
    /// with 1; `reference` is the clean image the PSNR compares with.
    public func fit(_ target: Tensor, mask: Tensor? = nil, reference: Tensor? = nil) throws -> Fit {
        guard target.rank == 3, target.shape[1] >= 2, target.shape[2] >= 2 else { throw TorchError("the deep image prior fits one image (C, H, W), got \(target.shape)") }
        guard steps >= 1, learningRate > 0, every >= 1 else { throw TorchError("the deep image prior needs steps ≥ 1, a positive learning rate and every ≥ 1") }
        guard try target.allFinite(), try target.min().item() >= 0, try target.max().item() <= 1 else { throw TorchError("the image's values must be finite and in [0, 1]") }
        let (network, code) = try untrainedNetwork(imageShape: target.shape)
        let y = try target.unsqueezed(dim: 0).to(.float32)
        let known = try (mask.map { try $0.to(.float32).expanded(to: target.shape).unsqueezed(dim: 0) } ?? y.onesLike())
        let count = try known.sum().item()
        guard count > 0 else { throw TorchError("the mask leaves no known pixel") }
        let adam = Adam(network.parameters, learningRate: learningRate)
        var losses: [Double] = [], psnr: [Double] = [], best: (Double, Int, Tensor)?
        for step in 0...steps {
            let (output, loss) = try withGrad { () -> (Tensor, Tensor) in
                let output = try network(code)
                return (output, try ((output - y).square() * known).sum() / count)
            }
            if step % every == 0 || step == steps {
                losses.append(try loss.item())
                if let reference {
                    let value = try Self.psnr(output.detached()[0], reference)
                    psnr.append(value)
                    if best == nil || value > best!.0 { best = (value, step, try output.detached()[0]) }
                }
                ProgressObserver.report("deep image prior", done: step, of: steps, unit: "steps", status: String(format: "loss %.5f", losses.last!))
            }
            guard step < steps else { break }
            try network.zeroGrad()
            try loss.backward()
            try adam.step()
        }
        let output = try noGrad { try network(code) }[0]
        return Fit(output: output, bestOutput: best?.2, losses: losses, psnr: psnr, bestStep: best?.1)
    }

    /// A freshly initialised network for images of `imageShape` (C, H, W) and its fixed noise code, from the seed.
    func untrainedNetwork(imageShape shape: [Int]) throws -> (HourglassNetwork, Tensor) {
        let generator = Generator(seed: seed)
        let network = try HourglassNetwork(codeChannels: codeChannels, width: width, levels: levels, outputChannels: shape[0], generator: generator)
        return (network, try Tensor.rand([1, codeChannels, shape[1], shape[2]], generator: generator) * 0.1)
    }

    /// Peak signal-to-noise ratio in dB for values in [0, 1].
    public static func psnr(_ a: Tensor, _ b: Tensor) throws -> Double {
        let mse = try (a.to(.float64) - b.to(.float64)).square().mean().item()
        return 10 * Foundation.log10(1 / max(mse, 1e-12))
    }
}
