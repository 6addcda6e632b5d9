import Foundation
import Testing
import TestSupport
@testable import NN
import Torch

/// The demo CNN against its PyTorch twin (fixtures from tools/make_fixtures.py, torch 1.13).
///
/// Tolerance 1e-5: both sides run the same libtorch kernels in float32, but thread
/// counts change the order of additions in convolutions and matmuls, which moves
/// results by a few ulps (about 1e-7 relative); 1e-5 leaves two orders of margin.
@Suite("PyTorch parity")
struct PyTorchParityTests {
    let expected: [String: Tensor]
    let model: Sequential

    init() throws {
        expected = try Fixture.tensors("cnn_expected.safetensors")
        model = try Architectures.mnistCNN()
        try model.loadStateDict(Fixture.tensors("cnn_weights.safetensors"))
        model.eval()
    }

    @Test("parameter names match PyTorch's state_dict")
    func parameterNamesMatchStateDict() throws {
        let python = try Fixture.tensors("cnn_weights.safetensors")
        #expect(Set(model.stateDict().keys) == Set(python.keys))
    }

    @Test("logits match PyTorch")
    func logitsMatch() throws {
        let logits = try noGrad { try model(expected["input"]!) }
        #expect(try maxDifference(logits, expected["logits"]!) < 1e-5)
    }

    @Test("input gradients of the target logits match PyTorch")
    func inputGradientsMatch() throws {
        let x = try expected["input"]!.clone().requiringGrad()
        let logits = try model(x)
        let selected = try logits.gather(dim: 1, index: expected["targets"]!.unsqueezed(dim: 1)).sum()
        let gradient = try Tensor.grad(of: selected, wrt: x)
        #expect(try relativeDifference(gradient, expected["target_logit_input_grad"]!) < 1e-5)
    }

    @Test("loss and parameter gradients match PyTorch")
    func parameterGradientsMatch() throws {
        let loss = try Functional.crossEntropy(model(expected["input"]!), target: expected["targets"]!)
        #expect(try abs(loss.item() - expected["loss"]!.item()) < 1e-5)
        try model.zeroGrad()
        try loss.backward()
        for (name, parameter) in model.namedParameters() {
            let reference = try #require(expected["param_grad.\(name)"])
            #expect(try relativeDifference(#require(parameter.grad), reference) < 1e-5, "gradient of \(name)")
        }
    }

    @Test("a traced TorchScript twin gives the same logits and input gradients")
    func torchScriptTwinMatches() throws {
        let script = try ScriptModule(contentsOf: Fixture.path("cnn_traced.pt"))
        let x = try expected["input"]!.clone().requiringGrad()
        let logits = try script(x)
        #expect(try maxDifference(logits.detached(), expected["logits"]!) < 1e-5)
        let selected = try logits.gather(dim: 1, index: expected["targets"]!.unsqueezed(dim: 1)).sum()
        #expect(try relativeDifference(Tensor.grad(of: selected, wrt: x), expected["target_logit_input_grad"]!) < 1e-5)
        #expect(try script.namedParameters().map(\.name).sorted() == model.namedParameters().map(\.name).sorted())
    }

    @Test("a model saved by Glassbox reloads with identical outputs")
    func saveAndReloadRoundTrips() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.safetensors").path
        try Safetensors.write(model.stateDict(), to: path)
        let reloaded = try Architectures.mnistCNN(generator: Generator(seed: 99))
        try reloaded.loadStateDict(Safetensors.read(path).tensors)
        reloaded.eval()
        let x = expected["input"]!
        #expect(try maxDifference(noGrad { try reloaded(x) }, noGrad { try model(x) }) == 0)
    }
}

/// Layers and optimisers against PyTorch. Tolerance 1e-5 absolute on values of order 1,
/// for the same reason as above.
@Suite("Layers and optimisers")
struct LayerParityTests {
    @Test("BatchNorm2d matches PyTorch in training and evaluation, including running statistics")
    func batchNormMatches() throws {
        let f = try Fixture.tensors("layers.safetensors")
        let bn = try BatchNorm.twoDimensional(3)
        try bn.loadStateDict(["weight": f["bn.weight"]!, "bias": f["bn.bias"]!], strict: false)
        let trained = try bn(f["x"]!)
        #expect(try maxDifference(trained.detached(), f["bn_train_out"]!) < 1e-5)
        #expect(try maxDifference(bn.runningMean, f["bn_running_mean"]!) < 1e-6)
        #expect(try maxDifference(bn.runningVar, f["bn_running_var"]!) < 1e-5)
        #expect(try bn.batchesTracked.itemInt() == 1)
        bn.eval()
        #expect(try maxDifference(bn(f["x"]!).detached(), f["bn_eval_out"]!) < 1e-5)
    }

    @Test("LayerNorm, GELU and pooling match PyTorch")
    func otherLayersMatch() throws {
        let f = try Fixture.tensors("layers.safetensors")
        let x = f["x"]!
        let ln = try LayerNorm([5])
        try ln.loadStateDict(["weight": f["ln.weight"]!, "bias": f["ln.bias"]!])
        #expect(try maxDifference(ln(x).detached(), f["ln_out"]!) < 1e-5)
        #expect(try maxDifference(Activation(.gelu)(x), f["gelu_out"]!) < 1e-6)
        #expect(try maxDifference(AvgPool2d(2)(x), f["avgpool_out"]!) < 1e-6)
        #expect(try maxDifference(AdaptiveAvgPool2d((2, 3))(x), f["adaptive_out"]!) < 1e-6)
    }

    @Test("ConvTranspose2d matches PyTorch in value, gradients and a second-order gradient, for strides, padding and output padding")
    func convTransposeMatches() throws {
        let f = try Fixture.tensors("conv_transpose.safetensors")
        let cases = [(5, 16, 5, 2, 0, 0), (16, 8, 5, 1, 0, 0), (8, 1, 2, 2, 1, 0), (3, 4, 3, 2, 1, 1), (2, 3, 4, 3, 2, 0)]
        for (i, (input, output, kernel, stride, padding, outputPadding)) in cases.enumerated() {
            let layer = try ConvTranspose2d(input, output, kernelSize: kernel, stride: stride, padding: padding, outputPadding: outputPadding)
            try layer.loadStateDict(["weight": f["\(i).weight"]!, "bias": f["\(i).bias"]!])
            let x = try f["\(i).x"]!.requiringGrad()
            let y = try layer(x)
            #expect(try relativeDifference(y.detached(), f["\(i).y"]!) < 1e-5, "case \(i) output")
            let weighted = try (y * f["\(i).r"]!).sum()
            let gradientX = try Tensor.grad(of: weighted, wrt: x, retainGraph: true, createGraph: true)
            let gradientW = try Tensor.grad(of: weighted, wrt: layer.weight, retainGraph: true)
            #expect(try relativeDifference(gradientX.detached(), f["\(i).grad_x"]!) < 1e-5, "case \(i) input gradient")
            #expect(try relativeDifference(gradientW, f["\(i).grad_weight"]!) < 1e-5, "case \(i) weight gradient")
            let second = try Tensor.grad(of: gradientX.pow(2).sum(), wrt: layer.weight)
            #expect(try relativeDifference(second, f["\(i).second"]!) < 1e-5, "case \(i) second-order gradient")
        }
    }

    @Test("BatchNorm1d normalises (N, C) batches like PyTorch")
    func batchNorm1dMatches() throws {
        let f = try Fixture.tensors("layers.safetensors")
        let bn = try BatchNorm.oneDimensional(4)
        #expect(try maxDifference(bn(f["x1"]!).detached(), f["bn1d_train_out"]!) < 1e-5)
        #expect(errorMessage { _ = try bn(Tensor.zeros([2, 4, 3, 3])) }?.contains("expects a 2 or 3-D input") == true)
    }

    @Test("cross-entropy (with label smoothing, unreduced), NLL, MSE and BCE-with-logits match PyTorch")
    func lossesMatch() throws {
        let f = try Fixture.tensors("layers.safetensors")
        let logits = f["logits"]!, labels = f["labels"]!, targets = f["targets"]!
        let pairs: [(Tensor, String)] = [
            (try Functional.crossEntropy(logits, target: labels), "ce"),
            (try Functional.crossEntropy(logits, target: labels, labelSmoothing: 0.1), "ce_smooth"),
            (try Functional.crossEntropy(logits, target: labels, reduction: .none), "ce_none"),
            (try Functional.nllLoss(logits.logSoftmax(dim: 1), target: labels, reduction: .sum), "nll_sum"),
            (try Functional.mseLoss(logits, target: targets), "mse"),
            (try Functional.binaryCrossEntropyWithLogits(logits, target: targets), "bce"),
        ]
        for (value, name) in pairs {
            #expect(try maxDifference(value.reshaped([-1]), f[name]!) < 1e-6, "\(name)")
        }
    }

    @Test("SGD, Nesterov SGD, Adam and AdamW take the same three steps as PyTorch", arguments: ["sgd", "nesterov", "adam", "adamw"])
    func optimizerStepsMatch(name: String) throws {
        let f = try Fixture.tensors("optimizers.safetensors")
        let p = try f["w0"]!.clone().requiringGrad()
        let optimizer: Optimizer = switch name {
        case "sgd": SGD([p], learningRate: 0.02, momentum: 0.9, dampening: 0.1, weightDecay: 0.01)
        case "nesterov": SGD([p], learningRate: 0.02, momentum: 0.9, nesterov: true)
        case "adam": Adam([p], learningRate: 0.05, weightDecay: 0.01)
        default: Adam.adamW([p], learningRate: 0.05, weightDecay: 0.1)
        }
        for _ in 0..<3 {
            try p.setGrad(nil)
            try (f["a"]!.matmul(p).tanh().square().sum() + p.pow(4).sum()).backward()
            try optimizer.step()
        }
        // Relative 1e-6: float32 rounding over three steps; values reach about 10.
        #expect(try relativeDifference(p.detached(), f["after.\(name)"]!) < 1e-6)
    }

    @Test("the one-pass Adam kernel equals Adam's tensor operations in float64 for each kind of decay, and declines non-contiguous tensors")
    func fusedAdamMatchesOperations() throws {
        let g0 = Generator(seed: 9)
        for (decay, decoupled) in [(0.0, false), (0.01, false), (0.1, true)] {
            let (p, g) = (try Tensor.randn([300, 7], dtype: .float64, generator: g0), try Tensor.randn([300, 7], dtype: .float64, generator: g0))
            let (m, v) = (try Tensor.randn([300, 7], dtype: .float64, generator: g0), try Tensor.rand([300, 7], dtype: .float64, generator: g0))
            let (lr, b1, b2, eps, step) = (0.05, 0.9, 0.999, 1e-8, 4.0)
            // The operations of torch.optim.Adam (and AdamW), out of place, with float64 scalars.
            func c(_ x: Double) throws -> Tensor { try Tensor(scalar: x, dtype: .float64) }
            let weights = decoupled ? try p * c(1 - lr * decay) : p
            let gradient = decoupled ? g : try g + p * c(decay)
            let first = try m * c(b1) + gradient * c(1 - b1), second = try v * c(b2) + gradient.square() * c(1 - b2)
            let denominator = try second.sqrt() / c((1 - Foundation.pow(b2, step)).squareRoot()) + c(eps)
            let expected = try weights - first / denominator * c(lr / (1 - Foundation.pow(b1, step)))
            let applied = try p.fusedAdamStep(gradient: g, firstMoment: m, secondMoment: v, learningRate: lr, betas: (b1, b2), eps: eps,
                                              weightDecay: decay, decoupled: decoupled, step: Int(step))
            #expect(applied)
            // float64 rounding of a handful of operations in another order.
            #expect(try relativeDifference(p, expected) < 1e-14 && relativeDifference(m, first) < 1e-14 && relativeDifference(v, second) < 1e-14)
        }
        let p = try Tensor.randn([7, 300], generator: g0), transposed = try Tensor.randn([300, 7], generator: g0).t()
        let before = try p.clone()
        #expect(try !p.fusedAdamStep(gradient: transposed, firstMoment: p.zerosLike(), secondMoment: p.zerosLike(), learningRate: 0.1,
                                     betas: (0.9, 0.999), eps: 1e-8, weightDecay: 0, decoupled: false, step: 1))
        #expect(try maxDifference(p, before) == 0)
    }
}
