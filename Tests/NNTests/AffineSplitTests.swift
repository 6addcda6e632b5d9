import Testing
import TestSupport
@testable import NN
import Torch

@Suite("Affine split and blocked-layout gradients")
struct AffineSplitTests {
    func resNet() throws -> ResNet18 {
        let model = try ResNet18(classes: 5, generator: Generator(seed: 50))
        model.eval()
        return model
    }

    @Test("an eval-mode ResNet-18 and a Sequential starting with conv + batch norm are rest(front(x)) with an affine front")
    func splitReproducesTheModel() throws {
        let g = Generator(seed: 51)
        let sequential = Sequential([try Conv2d(3, 4, kernelSize: 5, padding: 2, generator: g), try BatchNorm.twoDimensional(4), ReLU(),
                                     Flatten(), try Linear(4 * 36, 3, generator: g)])
        sequential.eval()
        for model in [try resNet() as Module, sequential] {
            let x = try Tensor.randn([2, 3, model is ResNet18 ? 32 : 6, model is ResNet18 ? 32 : 6], generator: g)
            let split = try #require(model.affineSplit)
            let expected = try noGrad { try model(x) }
            #expect(try maxDifference(noGrad { try split.rest(split.front(x)) }, expected) < 1e-4 * expected.abs().max().item())
            // Affine: front(a) + front(b) − front(0) = front(a + b), and Aᵀ is the front's input gradient.
            let y = try Tensor.randn(x.shape, generator: g)
            let zero = try Tensor.zeros(x.shape)
            let sum = try noGrad { try split.front(x) + split.front(y) - split.front(zero) }
            #expect(try maxDifference(sum, noGrad { try split.front(x + y) }) < 1e-4 * sum.abs().max().item())
            let cotangent = try noGrad { try Tensor.randn(split.front(x).shape, generator: g) }
            let input = try x.detached().requiringGrad()
            let direct = try Tensor.grad(of: (split.front(input) * cotangent).sum(), wrt: input)
            #expect(try maxDifference(split.frontTransposed(cotangent, inputsLike: y), direct) < 1e-4 * direct.abs().max().item())
        }
    }

    @Test("no split when a hook could change the first layer's output, in training mode with batch norm, or after a flatten")
    func noSplitWhenNotAffine() throws {
        let model = try resNet()
        try model.withHooks([("conv1", { _, _ in nil })]) { #expect(model.affineSplit == nil) }
        try model.withHooks([("", { _, _ in nil })]) { #expect(model.affineSplit == nil) }
        #expect(model.affineSplit != nil)
        model.train()
        #expect(model.affineSplit == nil)
        #expect(Sequential([Flatten(), try Linear(4, 2)]).affineSplit == nil)
        // A first convolution with few multiply-adds per value (one channel, 3×3) is cheaper to recompute.
        #expect(Sequential([try Conv2d(1, 8, kernelSize: 3, padding: 1), ReLU()]).affineSplit == nil)
        #expect(Sequential([try Conv2d(1, 8, kernelSize: 7, padding: 3), ReLU()]).affineSplit != nil)
    }

    @Test("first-order ResNet-18 input gradients in oneDNN's blocked layout equal the plain-layout ones")
    func blockedGradientsMatch() throws {
        let model = try resNet()
        let x = try Tensor.randn([3, 3, 40, 40], generator: Generator(seed: 52))
        func gradient() throws -> Tensor {
            let input = try x.detached().requiringGrad()
            return try Tensor.grad(of: model(input).select(dim: 1, index: 2).sum(), wrt: input)
        }
        let plain = try gradient()
        #expect(!model.usesBlockedLayout(x))
        let blocked = try GradientOrder.firstOrder {
            #expect(model.usesBlockedLayout(x))
            return try gradient()
        }
        #expect(try maxDifference(blocked, plain) < 1e-4 * plain.abs().max().item())
        // Guided ReLU rules stay on plain tensors.
        try model.withReLUBackwardRule(.guided) {
            GradientOrder.firstOrder { #expect(!model.usesBlockedLayout(x)) }
        }
    }
}
