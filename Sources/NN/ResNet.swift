import Foundation
import Torch

/// ResNet-18 (He et al. 2016) with torchvision's layout and parameter names
/// (`conv1.weight`, `layer2.0.downsample.0.weight`, `fc.bias`, …), so torchvision
/// checkpoints load with `loadStateDict`. Input (N, 3, H, W), output `classes` logits.
public final class ResNet18: Module {
    let conv1: Conv2d, bn1: BatchNorm, relu = ReLU(), maxpool = MaxPool2d(3, stride: 2, padding: 1)
    let stages: [Sequential]
    let avgpool = AdaptiveAvgPool2d((1, 1)), flatten = Flatten()
    let fc: Linear
    let planLock = NSLock()
    var cachedPlans: [Start: ConvolutionPlan] = [:]
    let windowPlans = WindowConvolutionPlans()

    public init(classes: Int = 1000, generator: Generator? = nil) throws {
        conv1 = try Conv2d(3, 64, kernelSize: 7, stride: 2, padding: 3, bias: false, generator: generator)
        bn1 = try BatchNorm.twoDimensional(64)
        var stages: [Sequential] = []
        var channels = 64
        for (index, width) in [64, 128, 256, 512].enumerated() {
            let stride = index == 0 ? 1 : 2
            stages.append(Sequential([
                try BasicBlock(channels, width, stride: stride, generator: generator),
                try BasicBlock(width, width, stride: 1, generator: generator),
            ]))
            channels = width
        }
        self.stages = stages
        fc = try Linear(512, classes, generator: generator)
        super.init()
        assignPaths()
    }

    public override var children: [(name: String, module: Module)] {
        [("conv1", conv1), ("bn1", bn1), ("relu", relu), ("maxpool", maxpool)]
            + stages.enumerated().map { ("layer\($0.offset + 1)", $0.element as Module) }
            + [("avgpool", avgpool), ("flatten", flatten), ("fc", fc)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try run(x, from: .image)
    }

    /// The stem and the first blocks compute only the outputs a local change reaches (on windows:
    /// 3×3 stride-1 convolutions on plans where measured faster, `windowPlansAreFaster`, the rest
    /// on libtorch's direct convolutions); once the change covers more than `localShareLimit` of a
    /// block's input, the remaining blocks run on whole maps, on a convolution plan where one applies.
    public override func forward(locally x: LocalActivations) throws -> LocalActivations {
        try forward(locally: x, windowPlans: windowPlansAreFaster(for: x) ? windowPlans : nil)
    }

    func forward(locally x: LocalActivations, windowPlans: WindowConvolutionPlans?) throws -> LocalActivations {
        var y = try maxpool.forward(locally: bn1.applied(after: conv1, to: x).mapped { try $0.relu() })
        for (index, block) in blocks.enumerated() {
            guard case .local(let change) = y, change.areaShare <= Self.localShareLimit else {
                return .whole(try run(y.materialized(), from: .block(index)))
            }
            y = try (block as? BasicBlock)?.forward(locally: y, windowPlans: windowPlans) ?? block.forward(locally: y)
        }
        return .whole(try fc(flatten(avgpool(y.materialized()))))
    }

    /// Whether the local path's windows run faster on plans than on libtorch for this change's
    /// shape on this machine: measured once (`ConvolutionCalibration`), unless
    /// `GLASSBOX_CONVOLUTION_PATH` forces a path.
    func windowPlansAreFaster(for x: LocalActivations) throws -> Bool {
        guard case .local(let change) = x, usesPlan(change.values) else { return false }
        guard ConvolutionPath.chosen == .automatic else { return true }
        let (map, window) = (change.base.shape.dropFirst(), change.values.shape)
        let key = "ResNet-18 local change of \(ConvolutionCalibration.shapeText(window)) in \(map.map(String.init).joined(separator: "×")), windows"
        return try ConvolutionCalibration.shared.measurement(for: key) {
            try ConvolutionCalibration.compare(plan: { _ = try forward(locally: x, windowPlans: windowPlans) },
                                               libtorch: { _ = try forward(locally: x, windowPlans: nil) })
        }.planWins
    }

    /// Where a local change hands over to whole maps (see `forward(locally:)`).
    static let localShareLimit = 0.25

    var blocks: [Module] { stages.flatMap(\.layers) }

    /// Where `run` starts: at the image, after the stem's convolution and batch norm (the affine
    /// split's rest), or at a block's input (a local change handing over).
    enum Start: Hashable {
        case image, stem, block(Int)
    }

    /// conv1 with its batch norm is the affine front.
    public override var affineSplit: AffineSplit? {
        guard hooks.isEmpty, conv1.hooks.isEmpty, bn1.hooks.isEmpty, !bn1.isTraining else { return nil }
        return AffineSplit(front: { try self.bn1.applied(after: self.conv1, to: $0) },
                           rest: { try self.run($0, from: .stem) })
    }

    /// The network from `start`: on a convolution plan where one applies and is faster here
    /// (`planIsFaster`), else on libtorch.
    func run(_ x: Tensor, from start: Start) throws -> Tensor {
        if usesPlan(x), try planIsFaster(for: x, from: start), let y = try runOnPlan(x, from: start) { return y }
        return try runOnLibtorch(x, from: start)
    }

    /// The network on a convolution plan (nil when this build has none).
    func runOnPlan(_ x: Tensor, from start: Start) throws -> Tensor? {
        // An input gradient through the stem: oneDNN 2.6 has only its reference backward kernel for
        // the 3-channel 7×7 stride-2 convolution (3.3 s per 224×224 image on the session-13 Intel
        // Xeon); libtorch's is fast, so libtorch runs the stem and the plan the rest.
        if start == .image, x.requiresGrad, Torch.isGradEnabled, let plan = try plan(from: .stem) {
            return try fc(flatten(avgpool(plan(bn1.applied(after: conv1, to: x)))))
        }
        return try plan(from: start).map { try fc(flatten(avgpool($0(x)))) }
    }

    /// Whether the plan beats libtorch for this input's shape and mode on this machine: measured
    /// once (`ConvolutionCalibration`), unless `GLASSBOX_CONVOLUTION_PATH` forces the plan.
    func planIsFaster(for x: Tensor, from start: Start) throws -> Bool {
        guard ConvolutionPath.chosen == .automatic, ConvolutionPlan.isAvailable else { return true }
        let gradients = x.requiresGrad && Torch.isGradEnabled
        let key = "ResNet-18 from \(start) on \(ConvolutionCalibration.shapeText(x.shape)), \(gradients ? "input gradients" : "inference")"
        return try ConvolutionCalibration.shared.measurement(for: key) {
            func pass(onPlan: Bool) throws {
                guard gradients else {
                    _ = try noGrad { try onPlan ? runOnPlan(x, from: start) : runOnLibtorch(x, from: start) }
                    return
                }
                let input = try x.detached().requiringGrad()
                let y = try onPlan ? try runOnPlan(input, from: start)! : runOnLibtorch(input, from: start)
                _ = try Tensor.grad(of: y.sum(), wrt: input)
            }
            return try ConvolutionCalibration.compare(plan: { try pass(onPlan: true) }, libtorch: { try pass(onPlan: false) })
        }.planWins
    }

    /// The network on libtorch's operators, in oneDNN's blocked layout where that applies (no
    /// per-layer reordering, about a fifth faster on CPU).
    func runOnLibtorch(_ x: Tensor, from start: Start) throws -> Tensor {
        let blocked = usesBlockedLayout(x)
        var y = blocked ? try x.contiguous().toMKLDNN() : x
        var first = 0
        switch start {
        case .image: y = try maxpool(relu(bn1.applied(after: conv1, to: y)))
        case .stem: y = try maxpool(relu(y))
        case .block(let index): first = index
        }
        // Whole stages run as modules, so hooks on "layer1"… fire; a start inside a stage (a local
        // change handing over, never with hooks) runs that stage's remaining blocks.
        var seen = 0
        for stage in stages {
            let done = first - seen
            seen += stage.layers.count
            if done <= 0 {
                y = try stage(y)
            } else if done < stage.layers.count {
                for block in stage.layers[done...] { y = try block(y) }
            }
        }
        if blocked { y = try y.toDense() }
        return try fc(flatten(avgpool(y)))
    }

    /// Whether the convolutional part runs in oneDNN's blocked layout when there is no plan.
    func usesBlockedLayout(_ x: Tensor) -> Bool {
        ConvolutionPath.chosen != .plain && Torch.hasMKLDNN && runsOnOneDNN(x)
    }

    /// Whether the convolutional part may leave libtorch's plain tensors for oneDNN (a plan or the
    /// blocked layout): in eval mode with no hooks anywhere, for inference, or for first-order
    /// input gradients through standard ReLUs (`GradientOrder.firstOrder`); neither has
    /// double-backward rules, and the guided/deconvolution ReLU rules run on plain tensors.
    func runsOnOneDNN(_ x: Tensor) -> Bool {
        guard x.dtype == .float32, x.device == .cpu, x.rank == 4,
              namedModules().allSatisfy({ !$0.module.isTraining && $0.module.hooks.isEmpty }) else { return false }
        guard Torch.isGradEnabled else { return true }
        return GradientOrder.isFirstOrderOnly
            && namedModules().allSatisfy { (($0.module as? ReLU)?.backwardRule ?? .standard) == .standard }
    }
}

/// Two 3×3 convolutions with batch norm and a skip connection (a 1×1 projection when the shape changes).
public final class BasicBlock: Module {
    let conv1: Conv2d, bn1: BatchNorm, relu1 = ReLU()
    let conv2: Conv2d, bn2: BatchNorm, relu2 = ReLU()
    let downsample: Sequential?

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int, generator: Generator? = nil) throws {
        conv1 = try Conv2d(inChannels, outChannels, kernelSize: 3, stride: stride, padding: 1, bias: false, generator: generator)
        bn1 = try BatchNorm.twoDimensional(outChannels)
        conv2 = try Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, bias: false, generator: generator)
        bn2 = try BatchNorm.twoDimensional(outChannels)
        downsample = stride != 1 || inChannels != outChannels
            ? Sequential([try Conv2d(inChannels, outChannels, kernelSize: 1, stride: stride, bias: false, generator: generator),
                          try BatchNorm.twoDimensional(outChannels)])
            : nil
    }

    public override var children: [(name: String, module: Module)] {
        [("conv1", conv1), ("bn1", bn1), ("relu1", relu1), ("conv2", conv2), ("bn2", bn2), ("relu2", relu2)]
            + (downsample.map { [("downsample", $0 as Module)] } ?? [])
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let residual = try bn2.applied(after: conv2, to: relu1(bn1.applied(after: conv1, to: x)))
        return try relu2(residual + (downsample.map { try $0(x) } ?? x))
    }

    public override func forward(locally x: LocalActivations) throws -> LocalActivations {
        try forward(locally: x, windowPlans: nil)
    }

    /// The local forward pass with 3×3 stride-1 windows on `windowPlans` when given.
    func forward(locally x: LocalActivations, windowPlans: WindowConvolutionPlans?) throws -> LocalActivations {
        let inner = try bn1.applied(after: conv1, to: x, windowPlan: windowPlans?.plan(for: conv1, bn1)).mapped { try $0.relu() }
        let residual = try bn2.applied(after: conv2, to: inner, windowPlan: windowPlans?.plan(for: conv2, bn2))
        return try (residual + (downsample.map { try $0.forward(locally: x) } ?? x)).mapped { try $0.relu() }
    }
}
