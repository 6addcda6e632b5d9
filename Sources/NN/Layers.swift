import Foundation
import Torch

/// PyTorch's default initialisation for Linear and Conv layers: U(-1/√fanIn, 1/√fanIn)
/// for weights (kaiming_uniform with a = √5) and biases.
func uniformInit(_ shape: [Int], fanIn: Int, generator: Generator?) throws -> Tensor {
    let bound = 1 / Foundation.sqrt(Double(max(fanIn, 1)))
    return try (Tensor.rand(shape, generator: generator) * (2 * bound) - bound).requiringGrad()
}

/// y = x Wᵀ + b
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inputs: Int, _ outputs: Int, bias: Bool = true, generator: Generator? = nil) throws {
        weight = try uniformInit([outputs, inputs], fanIn: inputs, generator: generator)
        self.bias = bias ? try uniformInit([outputs], fanIn: inputs, generator: generator) : nil
    }

    public override var localParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.linear(x, weight: weight, bias: bias)
    }
}

public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int)
    public let padding: (Int, Int)

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, generator: Generator? = nil) throws {
        let fanIn = inChannels * kernelSize * kernelSize
        weight = try uniformInit([outChannels, inChannels, kernelSize, kernelSize], fanIn: fanIn, generator: generator)
        self.bias = bias ? try uniformInit([outChannels], fanIn: fanIn, generator: generator) : nil
        self.stride = (stride, stride)
        self.padding = (padding, padding)
    }

    public override var localParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }

    public override func forward(locally x: LocalActivations) throws -> LocalActivations {
        try x.convolved(weight: weight, bias: bias, stride: stride, padding: padding)
    }
}

/// Transposed convolution (weight (in, out, k, k), as PyTorch's ConvTranspose2d).
public final class ConvTranspose2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    let stride: (Int, Int), padding: (Int, Int), outputPadding: (Int, Int)

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0,
                bias: Bool = true, generator: Generator? = nil) throws {
        // PyTorch computes fan-in from weight.size(1) · k · k for transposed convolutions.
        let fanIn = outChannels * kernelSize * kernelSize
        weight = try uniformInit([inChannels, outChannels, kernelSize, kernelSize], fanIn: fanIn, generator: generator)
        self.bias = bias ? try uniformInit([outChannels], fanIn: fanIn, generator: generator) : nil
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        self.outputPadding = (outputPadding, outputPadding)
    }

    public override var localParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.convTranspose2d(x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding)
    }
}

/// Reshapes each example to `shape` (the batch dimension is kept).
public final class Unflatten: Module {
    let shape: [Int]

    public init(_ shape: [Int]) {
        self.shape = shape
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try x.reshaped([x.shape[0]] + shape)
    }
}

public final class MaxPool2d: Module {
    let kernelSize: Int, stride: Int, padding: Int

    public init(_ kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.maxPool2d(x, kernelSize: (kernelSize, kernelSize), stride: (stride, stride), padding: (padding, padding))
    }

    public override func forward(locally x: LocalActivations) throws -> LocalActivations {
        try x.throughWindowOperation(kernel: (kernelSize, kernelSize), stride: (stride, stride), padding: (padding, padding),
                                     fill: -.infinity,
                                     operation: { try Functional.maxPool2d($0, kernelSize: (kernelSize, kernelSize), stride: (stride, stride)) },
                                     whole: forward)
    }
}

public final class AvgPool2d: Module {
    let kernelSize: Int, stride: Int

    public init(_ kernelSize: Int, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.avgPool2d(x, kernelSize: (kernelSize, kernelSize), stride: (stride, stride))
    }
}

public final class AdaptiveAvgPool2d: Module {
    let outputSize: (Int, Int)

    public init(_ outputSize: (Int, Int)) {
        self.outputSize = outputSize
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.adaptiveAvgPool2d(x, outputSize: outputSize)
    }
}

/// Batch normalisation over (N, C) or (N, C, L) input (BatchNorm1d) or (N, C, H, W) input (BatchNorm2d).
public final class BatchNorm: Module {
    public let weight: Tensor, bias: Tensor
    public let runningMean: Tensor, runningVar: Tensor, batchesTracked: Tensor
    let momentum: Double, eps: Double
    let expectedRanks: Set<Int>

    init(_ features: Int, momentum: Double, eps: Double, ranks: Set<Int>) throws {
        weight = try Tensor.ones([features]).requiringGrad()
        bias = try Tensor.zeros([features]).requiringGrad()
        runningMean = try Tensor.zeros([features])
        runningVar = try Tensor.ones([features])
        batchesTracked = try Tensor.zeros([], dtype: .int64)
        self.momentum = momentum
        self.eps = eps
        expectedRanks = ranks
    }

    public static func oneDimensional(_ features: Int, momentum: Double = 0.1, eps: Double = 1e-5) throws -> BatchNorm {
        try BatchNorm(features, momentum: momentum, eps: eps, ranks: [2, 3])
    }

    public static func twoDimensional(_ features: Int, momentum: Double = 0.1, eps: Double = 1e-5) throws -> BatchNorm {
        try BatchNorm(features, momentum: momentum, eps: eps, ranks: [4])
    }

    public override var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }
    public override var localBuffers: [(name: String, tensor: Tensor)] {
        [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", batchesTracked)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard expectedRanks.contains(x.rank) else {
            throw TorchError("BatchNorm at '\(path)' expects a \(expectedRanks.sorted().map(String.init).joined(separator: " or "))-D input, got shape \(x.shape)")
        }
        if isTraining { try noGrad { try batchesTracked.addInPlace(Tensor.ones([], dtype: .int64)) } }
        return try Functional.batchNorm(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                                        training: isTraining, momentum: momentum, eps: eps)
    }

    public override func forward(locally x: LocalActivations) throws -> LocalActivations {
        try x.mapped(forward)
    }
}

public final class LayerNorm: Module {
    public let weight: Tensor, bias: Tensor
    let shape: [Int], eps: Double

    public init(_ shape: [Int], eps: Double = 1e-5) throws {
        weight = try Tensor.ones(shape).requiringGrad()
        bias = try Tensor.zeros(shape).requiringGrad()
        self.shape = shape
        self.eps = eps
    }

    public override var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.layerNorm(x, normalizedShape: shape, weight: weight, bias: bias, eps: eps)
    }
}

/// Zeroes elements with probability `probability` in training, scaling the rest by 1/(1 − p).
///
/// Draws from its own generator, so concurrent models never share random state;
/// `Trainer` reseeds it every epoch (see `Stochastic`).
public final class Dropout: Module, Stochastic {
    let probability: Double
    var generator: Generator

    public init(_ probability: Double = 0.5, seed: UInt64 = 0) {
        self.probability = probability
        generator = Generator(seed: seed)
    }

    public func reseed(_ seed: UInt64) {
        generator = Generator(seed: seed)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard (0..<1).contains(probability) else {
            throw TorchError("dropout probability must be in [0, 1), got \(probability)")
        }
        guard isTraining, probability > 0 else { return x }
        let keep = try Tensor.full(x.shape, value: 1 - probability, dtype: x.dtype).bernoulli(generator: generator)
        return try x * keep / (1 - probability)
    }
}

/// A module that draws random numbers; training reseeds it for reproducible runs.
public protocol Stochastic: AnyObject {
    func reseed(_ seed: UInt64)
}

public final class Embedding: Module {
    public let weight: Tensor

    public init(_ count: Int, _ dimension: Int, generator: Generator? = nil) throws {
        weight = try Tensor.randn([count, dimension], generator: generator).requiringGrad()
    }

    public override var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.embedding(x, weight: weight)
    }
}

public final class Flatten: Module {
    let start: Int, end: Int

    public init(from start: Int = 1, to end: Int = -1) {
        self.start = start
        self.end = end
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try x.flattened(from: start, to: end)
    }
}

/// ReLU; its backward rule can be swapped for one call (`Module.withReLUBackwardRule`) without
/// copying or changing the model.
public final class ReLU: Module {
    /// The backward rule in the calling task's scope (`.standard` outside `withReLUBackwardRule`).
    public var backwardRule: ReLUBackwardRule { ForwardScope.current?.reluRules[ObjectIdentifier(self)] ?? .standard }

    public override init() {}

    public override func forward(_ x: Tensor) throws -> Tensor {
        let rule = backwardRule
        return try rule == .standard ? x.relu() : Functional.relu(x, backward: rule)
    }

    public override func forward(locally x: LocalActivations) throws -> LocalActivations {
        try x.mapped { try $0.relu() }
    }
}

/// An elementwise activation without parameters.
public final class Activation: Module {
    public enum Kind: String, Sendable { case gelu, tanh, sigmoid, softplus, solu }
    public let kind: Kind

    public init(_ kind: Kind) {
        self.kind = kind
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        switch kind {
        case .gelu: try x.gelu()
        case .tanh: try x.tanh()
        case .sigmoid: try x.sigmoid()
        case .softplus: try x.softplus()
        case .solu: try Functional.solu(x)
        }
    }

    /// Elementwise kinds keep a change local; SoLU mixes the last axis.
    public override func forward(locally x: LocalActivations) throws -> LocalActivations {
        kind == .solu ? .whole(try forward(x.materialized())) : try x.mapped(forward)
    }
}

/// Layers applied in order; children are named "0", "1", … as in `torch.nn.Sequential`.
public final class Sequential: Module {
    public let layers: [Module]

    public init(_ layers: [Module]) {
        self.layers = layers
        super.init()
        assignPaths()
    }

    public override var children: [(name: String, module: Module)] {
        layers.enumerated().map { (String($0.offset), $0.element) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try run(layers[...], x)
    }

    public override func forward(locally x: LocalActivations) throws -> LocalActivations {
        try layers.reduce(x) { try $1.forward(locally: $0) }
    }

    /// A first convolution or linear layer (with its eval-mode batch norm) is the affine front,
    /// unless it is a convolution with fewer than `AffineSplit.leastWorkPerValue` multiply-adds
    /// per output value (3×3 over one channel: 9): recomputing such a layer per path point or
    /// noisy copy costs less than carrying its larger output through the method (IG on the demo
    /// CNN, 32 digits: 290 against 360 ms, Intel Xeon with AVX-512, 2 threads).
    public override var affineSplit: AffineSplit? {
        guard hooks.isEmpty, let first = layers.first, first is Conv2d || first is Linear, first.hooks.isEmpty else { return nil }
        if let convolution = first as? Conv2d, convolution.weight.shape.dropFirst().reduce(1, *) < AffineSplit.leastWorkPerValue { return nil }
        var end = 1
        if first is Conv2d, layers.count > 1, let norm = layers[1] as? BatchNorm, !norm.isTraining, norm.hooks.isEmpty { end = 2 }
        return AffineSplit(front: { try self.run(self.layers[..<end], $0) }, rest: { try self.run(self.layers[end...], $0) })
    }

    public func run(_ slice: ArraySlice<Module>, _ x: Tensor) throws -> Tensor {
        var y = x, index = slice.startIndex
        while index < slice.endIndex {
            // A convolution followed by batch norm runs as one folded convolution in eval mode.
            if let convolution = slice[index] as? Conv2d, index + 1 < slice.endIndex, let norm = slice[index + 1] as? BatchNorm {
                y = try norm.applied(after: convolution, to: y)
                index += 2
            } else if let relu = slice[index] as? ReLU, index + 1 < slice.endIndex, let pool = slice[index + 1] as? MaxPool2d,
                      relu.hooks.isEmpty, pool.hooks.isEmpty, relu.backwardRule == .standard {
                // Max pooling commutes with ReLU, values, ties and gradients included (a window whose
                // maximum is not positive passes no gradient either way); after the pool the ReLU
                // reads and writes a quarter as much, forward and backward (the demo CNN's largest
                // tensor is its first ReLU's).
                y = try relu(pool(y))
                index += 2
            } else {
                y = try slice[index](y)
                index += 1
            }
        }
        return y
    }
}
