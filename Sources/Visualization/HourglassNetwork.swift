import NN
import Torch

/// The deep image prior's generator (Ulyanov, Vedaldi & Lempitsky 2018): an encoder–decoder with
/// skip connections that maps a fixed noise code to an image. Each level halves the size with a
/// stride-2 convolution; the decoder upsamples (bilinear, to the skip's exact size, so any image
/// size works), concatenates the level's 4-channel skip and convolves; batch norm and LeakyReLU
/// (0.2) after every convolution, as the paper's network (without normalisation, Adam's
/// coherent steps blow the activations up within tens of steps and the sigmoid saturates), a
/// sigmoid at the end.
public final class HourglassNetwork: Module {
    let down: [Conv2d], downSecond: [Conv2d], skips: [Conv2d], up: [Conv2d], upSecond: [Conv2d]
    let norms: [BatchNorm]
    let output: Conv2d
    public let codeChannels: Int

    public init(codeChannels: Int = 32, width: Int = 64, levels: Int = 3, outputChannels: Int, generator: Generator) throws {
        guard (1...6).contains(levels), width >= 4, codeChannels >= 1, outputChannels >= 1 else {
            throw TorchError("an hourglass network needs 1 to 6 levels, width ≥ 4 and at least one channel in and out")
        }
        self.codeChannels = codeChannels
        var down: [Conv2d] = [], downSecond: [Conv2d] = [], skips: [Conv2d] = [], up: [Conv2d] = [], upSecond: [Conv2d] = []
        for level in 0..<levels {
            let input = level == 0 ? codeChannels : width
            skips.append(try Conv2d(input, 4, kernelSize: 1, generator: generator))
            down.append(try Conv2d(input, width, kernelSize: 3, stride: 2, padding: 1, generator: generator))
            downSecond.append(try Conv2d(width, width, kernelSize: 3, padding: 1, generator: generator))
            up.append(try Conv2d(width + 4, width, kernelSize: 3, padding: 1, generator: generator))
            upSecond.append(try Conv2d(width, width, kernelSize: 1, generator: generator))
        }
        (self.down, self.downSecond, self.skips, self.up, self.upSecond) = (down, downSecond, skips, up, upSecond)
        // Five per level: after the skip, the two down and the two up convolutions.
        norms = try (0..<levels).flatMap { _ in try [4, width, width, width, width].map { try BatchNorm.twoDimensional($0) } }
        output = try Conv2d(width, outputChannels, kernelSize: 1, generator: generator)
        super.init()
        assignPaths()
    }

    public override var children: [(name: String, module: Module)] {
        func named(_ prefix: String, _ layers: [Conv2d]) -> [(name: String, module: Module)] { layers.enumerated().map { ("\(prefix)\($0.offset)", $0.element) } }
        return named("down", down) + named("down_second", downSecond) + named("skip", skips) + named("up", up) + named("up_second", upSecond)
            + norms.enumerated().map { ("norm\($0.offset)", $0.element as Module) } + [("output", output)]
    }

    static func leaky(_ x: Tensor) throws -> Tensor { try Tensor.maximum(x, x * 0.2) }

    /// Convolution, batch norm number `norm`, LeakyReLU.
    func block(_ convolution: Conv2d, _ norm: Int, _ x: Tensor) throws -> Tensor {
        try Self.leaky(norms[norm](convolution(x)))
    }

    public override func forward(_ code: Tensor) throws -> Tensor {
        var x = code, skipped: [Tensor] = []
        for level in down.indices {
            skipped.append(try block(skips[level], 5 * level, x))
            x = try block(downSecond[level], 5 * level + 2, block(down[level], 5 * level + 1, x))
        }
        for level in down.indices.reversed() {
            let skip = skipped[level]
            x = try Functional.upsampleBilinear(x, size: (skip.shape[2], skip.shape[3]))
            x = try block(upSecond[level], 5 * level + 4, block(up[level], 5 * level + 3, Tensor.cat([x, skip], dim: 1)))
        }
        return try output(x).sigmoid()
    }
}
