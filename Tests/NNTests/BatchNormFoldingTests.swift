import Testing
import TestSupport
@testable import NN
import Torch

@Suite("Batch norm folding")
struct BatchNormFoldingTests {
    /// A small-input ResNet-18 in eval mode with batch-norm statistics and affine parameters away from 0 and 1.
    func resNet() throws -> ResNet18 {
        let model = try ResNet18(classes: 7, generator: Generator(seed: 40))
        let g = Generator(seed: 41)
        var state: [String: Tensor] = [:]
        for (name, tensor) in model.namedParameters() + model.namedBuffers() where name.contains("bn") || name.contains("downsample.1") {
            switch name.split(separator: ".").last! {
            case "running_var", "weight": state[name] = try Tensor.rand(tensor.shape, generator: g) + 0.5
            case "running_mean", "bias": state[name] = try Tensor.randn(tensor.shape, generator: g) * 0.3
            default: break
            }
        }
        try model.loadStateDict(state, strict: false)
        model.eval()
        return model
    }

    /// Output, input gradient and first-convolution weight gradient of one forward and backward pass.
    func pass(_ model: ResNet18, _ x: Tensor) throws -> (Tensor, Tensor, Tensor) {
        try model.zeroGrad()
        let input = try x.detached().requiringGrad()
        let output = try model(input)
        try output.select(dim: 1, index: 3).sum().backward()
        let inputGradient = try #require(try input.grad)
        let weightGradient = try #require(try model.conv1.weight.grad)
        return (try output.detached(), inputGradient, try weightGradient.clone())
    }

    @Test("eval-mode ResNet-18 folds batch norm into its convolutions without changing outputs or gradients; hooks see the unfolded layers")
    func foldingKeepsResults() throws {
        let model = try resNet()
        let x = try Tensor.randn([2, 3, 40, 40], generator: Generator(seed: 42))
        let folded = try pass(model, x)
        // A hook on every convolution and batch norm turns folding off, so this is the two-step computation.
        let points = model.namedModules().filter { $0.module is Conv2d || $0.module is BatchNorm }.map(\.path)
        var seen: [String: Tensor] = [:]
        let plain = try model.withHooks(points.map { point in (point, { activation, name in seen[name] = try activation.detached(); return nil }) }) {
            try pass(model, x)
        }
        #expect(try maxDifference(folded.0, plain.0) < 1e-4 * plain.0.abs().max().item())
        #expect(try maxDifference(folded.1, plain.1) < 1e-4 * plain.1.abs().max().item())
        #expect(try maxDifference(folded.2, plain.2) < 1e-4 * plain.2.abs().max().item())
        // The stem convolution's hook point holds the convolution alone, before batch norm.
        let stem = try Functional.conv2d(x, weight: model.conv1.weight, bias: nil, stride: (2, 2), padding: (3, 3))
        #expect(try maxDifference(seen["conv1"]!, stem.detached()) < 1e-5)
        #expect(try maxDifference(seen["bn1"]!, model.bn1(stem).detached()) < 1e-5)
    }

    @Test("ResNet-18 inference without gradients (oneDNN's blocked layout) gives the outputs of the gradient-recording pass")
    func blockedInferenceMatches() throws {
        let model = try resNet()
        let x = try Tensor.randn([3, 3, 48, 48], generator: Generator(seed: 45))
        let recorded = try model(x).detached()
        let inferred = try noGrad { try model(x) }
        #expect(inferred.shape == [3, 7])
        #expect(try maxDifference(inferred, recorded) < 1e-4 * recorded.abs().max().item())
    }

    @Test("a Sequential folds a biased convolution and its batch norm into the same result as running them one after the other")
    func sequentialFoldsBiasedConvolution() throws {
        let g = Generator(seed: 44)
        let convolution = try Conv2d(2, 3, kernelSize: 3, padding: 1, bias: true, generator: g)
        let norm = try BatchNorm.twoDimensional(3)
        try norm.loadStateDict(["weight": Tensor.rand([3], generator: g) + 0.5, "bias": Tensor.randn([3], generator: g),
                                "running_mean": Tensor.randn([3], generator: g), "running_var": Tensor.rand([3], generator: g) + 0.5],
                               strict: false)
        let model = Sequential([convolution, norm, ReLU()])
        model.eval()
        let x = try Tensor.randn([2, 2, 6, 6], generator: g)
        let expected = try norm(convolution(x)).relu()
        #expect(try maxDifference(model(x), expected) < 1e-5)
    }

    @Test("in training mode batch norm is not folded: it uses batch statistics and updates its running ones")
    func trainingIsNotFolded() throws {
        let model = try resNet()
        model.train()
        let before = try model.bn1.runningMean.clone()
        _ = try model(Tensor.randn([2, 3, 32, 32], generator: Generator(seed: 43)))
        #expect(try maxDifference(model.bn1.runningMean, before) > 1e-4)
    }
}
