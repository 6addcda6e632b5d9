import Foundation
import Testing
import TestSupport
@testable import NN
import Torch

@Suite("Modules and hook points")
struct ModuleTests {
    func smallModel() throws -> Sequential {
        let g = Generator(seed: 0)
        return Sequential([
            try Linear(4, 8, generator: g), ReLU(),
            Sequential([try Linear(8, 8, generator: g), Activation(.tanh)]),
            try Linear(8, 3, generator: g),
        ])
    }

    @Test("nested modules are named like PyTorch's state_dict")
    func nestedNames() throws {
        let model = try smallModel()
        #expect(model.namedParameters().map(\.name) == ["0.weight", "0.bias", "2.0.weight", "2.0.bias", "3.weight", "3.bias"])
        #expect(model.hookPointNames == ["0", "1", "2", "2.0", "2.1", "3"])
    }

    @Test("run with cache records activations that the output depends on")
    func runWithCache() throws {
        let model = try smallModel()
        let x = try Tensor.randn([5, 4], generator: Generator(seed: 1))
        let (output, cache) = try model.runWithCache(x, names: { $0.hasPrefix("2") })
        #expect(Set(cache.activations.keys) == ["2", "2.0", "2.1"])
        #expect(try (model.layers[3](cache["2"]!) - output).abs().max().item() == 0)
    }

    @Test("a hook can replace an activation, and patching a ReLU output to zero leaves only the bias path")
    func patchReplacesActivation() throws {
        let model = try smallModel()
        let x = try Tensor.randn([2, 4], generator: Generator(seed: 2))
        let patched = try model.runWithPatch(x, at: "1") { try $0.zerosLike() }
        let expected = try model.layers[3](model.layers[2](Tensor.zeros([2, 8])))
        #expect(try (patched - expected).abs().max().item() == 0)
        // Hooks are gone afterwards.
        #expect(try (model(x) - patched).abs().max().item() > 0)
    }

    @Test("gradients at hook points are available after backward")
    func gradientsAtHookPoints() throws {
        let model = try smallModel()
        let x = try Tensor.randn([3, 4], generator: Generator(seed: 3))
        let (output, cache) = try model.runWithCache(x, names: { $0 == "2" }, retainGradients: true)
        try output.sum().backward()
        let atHook = try #require(cache.gradient(at: "2"))
        // d(sum of last Linear) / d(its input) = column sums of its weight, for every row.
        let expected = try model.layers[3].localParameters[0].tensor.sum(dims: [0]).unsqueezed(dim: 0).expanded(to: [3, 8])
        #expect(try (atHook - expected).abs().max().item() < 1e-6)
    }

    @Test("hooks are removed even when the forward pass throws, and unknown names are listed")
    func hooksRemovedAfterError() throws {
        let model = try smallModel()
        let x = try Tensor.randn([1, 4])
        #expect(throws: TorchError.self) {
            try model.withHooks([("1", { _, _ in throw TorchError("stop") })]) { try model(x) }
        }
        #expect(model.namedModules().allSatisfy { $0.module.hooks.isEmpty })
        let message = errorMessage { _ = try model.runWithPatch(x, at: "9") { $0 } }
        #expect(message?.contains("no hook point '9'; this model has: 0, 1, 2, 2.0, 2.1, 3") == true)
        #expect(errorMessage { _ = try model.runWithPatch(x, at: "1") { _ in try Tensor.zeros([1]) } }?.contains("returned shape [1]") == true)
    }

    /// Fails the test if the forward pass ever reaches it.
    final class Tripwire: Module {
        override func forward(_ x: Tensor) throws -> Tensor { Issue.record("the forward pass ran past the hook points"); return x }
    }

    @Test("activations at hook points are the cached ones, and the layers after the last of them never run")
    func activationsStopEarly() throws {
        let model = try smallModel()
        let x = try Tensor.randn([5, 4], generator: Generator(seed: 4))
        let (_, cache) = try model.runWithCache(x)
        let stopping = Sequential(model.layers + [Tripwire()])
        let captured = try stopping.activations(at: ["2.0", "1", "3"], for: x)
        for (tensor, name) in zip(captured, ["2.0", "1", "3"]) { #expect(try maxDifference(tensor, cache[name]!) == 0, "\(name)") }
        #expect(stopping.namedModules().allSatisfy { $0.module.hooks.isEmpty })
        #expect(errorMessage { _ = try stopping.activations(at: ["7"], for: x) }?.contains("no hook point '7'") == true)
    }

    @Test("loading a state dict reports missing, unexpected and mis-shaped entries")
    func stateDictErrors() throws {
        let model = try smallModel()
        var state = model.stateDict()
        state["0.weight"] = nil
        state["extra"] = try Tensor.zeros([1])
        let message = try #require(errorMessage { try model.loadStateDict(state) })
        #expect(message.contains("missing 0.weight") && message.contains("unexpected extra"))
        #expect(errorMessage { try model.loadStateDict(["3.bias": Tensor.zeros([4])], strict: false) }?
            .contains("'3.bias' has shape [4], the model expects [3]") == true)
    }

    @Test("dropout is active only in training mode")
    func dropoutFollowsMode() throws {
        let dropout = Dropout(0.5, seed: 4)
        let x = try Tensor.ones([1000])
        let dropped = try dropout(x).eq(0).to(.int64).sum().itemInt()
        // Binomial(1000, 0.5): 350...650 holds with probability 1 - 1e-20.
        #expect((350...650).contains(dropped))
        #expect(try dropout(x).max().item() == 2)
        dropout.eval()
        #expect(try dropout(x).sum().item() == 1000)
    }

    @Test("SoLU is x times softmax(x)")
    func solu() throws {
        let y = try Activation(.solu)(Tensor([0, 0] as [Float]))
        #expect(try y.scalars(as: Float.self) == [0, 0])
        let z = try Activation(.solu)(Tensor([1, 1] as [Float]))
        #expect(try z.scalars(as: Float.self) == [0.5, 0.5])
        // The seed's worked examples (Elhage et al. 2022): SoLU sharpens (4,1,4,1) towards (2,0,2,0),
        // keeps (4,0,0,0) about as it is, and spreads (1,1,1,1) evenly.
        for (input, quoted) in [([4.0, 1, 4, 1], [1.905, 0.024, 1.905, 0.024]), ([4.0, 0, 0, 0], [3.79, 0, 0, 0]), ([1.0, 1, 1, 1], [0.25, 0.25, 0.25, 0.25])] {
            let output = try Activation(.solu)(Tensor(input, shape: [1, 4])).scalars(as: Double.self)
            let exponentials = input.map { Foundation.exp($0) }, total = exponentials.reduce(0, +)
            for index in 0..<4 {
                #expect(abs(output[index] - input[index] * exponentials[index] / total) < 1e-12)
                #expect(abs(output[index] - quoted[index]) < 0.005, "SoLU\(input)[\(index)] = \(output[index]), quoted \(quoted[index])")
            }
        }
    }
}

@Suite("Training loop")
struct TrainerTests {
    func problem() throws -> (Tensor, Tensor) {
        let g = Generator(seed: 10)
        let x = try Tensor.randn([64, 2], generator: g)
        let y = try x.select(dim: 1, index: 0).gt(x.select(dim: 1, index: 1)).to(.int64)
        return (x, y)
    }

    func makeTrainer(checkpoint: String?) throws -> (Trainer, Sequential) {
        let model = Sequential([try Linear(2, 16, generator: Generator(seed: 1)), ReLU(), Dropout(0.1), try Linear(16, 2, generator: Generator(seed: 2))])
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 0.05))
        trainer.batchSize = 16
        trainer.seed = 7
        trainer.checkpointPath = checkpoint
        return (trainer, model)
    }

    @Test("a small classifier learns a linear rule")
    func learns() throws {
        let (x, y) = try problem()
        let (trainer, _) = try makeTrainer(checkpoint: nil)
        let history = try trainer.fit(inputs: x, targets: y, epochs: 20)
        #expect(history.last!.accuracy > 0.9)
        #expect(history.last!.loss < history.first!.loss)
    }

    @Test("resuming from a checkpoint gives the same weights as an uninterrupted run")
    func resumeMatchesUninterrupted() throws {
        let (x, y) = try problem()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (straight, straightModel) = try makeTrainer(checkpoint: nil)
        try straight.fit(inputs: x, targets: y, epochs: 4)
        let path = folder.appendingPathComponent("checkpoint.safetensors").path
        let (first, _) = try makeTrainer(checkpoint: path)
        try first.fit(inputs: x, targets: y, epochs: 2)
        let (second, resumedModel) = try makeTrainer(checkpoint: path)
        let history = try second.fit(inputs: x, targets: y, epochs: 4)
        #expect(history.map(\.epoch) == [1, 2, 3, 4])
        for ((name, a), (_, b)) in zip(straightModel.namedParameters(), resumedModel.namedParameters()) {
            #expect(try (a - b).abs().max().item() == 0, "parameter \(name)")
        }
    }

    @Test("a diverging run stops with an explanation")
    func divergenceIsReported() throws {
        let (x, _) = try problem()
        let model = Sequential([try Linear(2, 1)])
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 1e30),
                              loss: { try Functional.mseLoss($0, target: $1) })
        let message = errorMessage { try trainer.fit(inputs: x, targets: x.sum(dims: [1], keepDims: true).pow(8), epochs: 3) }
        #expect(message?.contains("training diverged") == true)
    }

    @Test("a batch plan decides the batches; a plan that misses or repeats an example is refused")
    func batchPlan() throws {
        let (x, y) = try problem()
        let (planned, _) = try makeTrainer(checkpoint: nil)
        var sizes: [Int] = []
        planned.batchPlan = { _ in [Array(0..<40), Array(40..<64)] }
        planned.augment = { batch, _ in sizes.append(batch.shape[0]); return batch }
        let history = try planned.fit(inputs: x, targets: y, epochs: 2)
        #expect(sizes == [40, 24, 40, 24] && history.count == 2)
        for plan in [[Array(0..<63)], [Array(0..<64), [3]], [Array(0..<64), []]] {
            let (trainer, _) = try makeTrainer(checkpoint: nil)
            trainer.batchPlan = { _ in plan }
            #expect(errorMessage { try trainer.fit(inputs: x, targets: y, epochs: 1) }?.contains("exactly once") == true)
        }
    }

    @Test("mismatched inputs and targets are rejected")
    func mismatchedData() throws {
        let (trainer, _) = try makeTrainer(checkpoint: nil)
        #expect(errorMessage { try trainer.fit(inputs: Tensor.zeros([4, 2]), targets: Tensor.zeros([3], dtype: .int64), epochs: 1) }?
            .contains("as many targets as inputs") == true)
    }
}
