import Foundation
import Testing
import TestSupport
@testable import DictionaryLearning
import NN
import Torch

/// Against float64 PyTorch and SciPy (tools/make_sae_fixtures.py). Our side runs in float32 from
/// the same float32 starting values: activations, losses and gradients within 1e-5 relative to
/// their scale (sums over 8–16 terms of O(1) values); one Adam step moves each weight by at
/// most 1e-3, so the stepped weights agree within 1e-6.
@Suite("Sparse autoencoders")
struct SparseAutoencoderTests {
    static let reference: [String: Tensor] = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("sae.safetensors")
        return try! Safetensors.read(url.path).tensors
    }()

    static func autoencoder(topK: Int? = nil) throws -> SparseAutoencoder {
        let sae = try SparseAutoencoder(.init(inputs: 8, features: 16, topK: topK))
        try sae.loadStateDict(["W_enc", "b_enc", "W_dec", "b_dec"].reduce(into: [:]) { $0[$1] = try! reference[$1]!.to(.float32) })
        return sae
    }

    static func relative(_ a: Tensor, _ b: Tensor) throws -> Double {
        try maxDifference(a.to(.float64), b) / Swift.max(1e-12, try b.abs().max().item())
    }

    @Test("activations, reconstruction, loss, gradients and one Adam step match PyTorch, parallel gradient removed and rows renormalised")
    func oneStepMatchesPyTorch() throws {
        let sae = try Self.autoencoder()
        let x = try Self.reference["x"]!.to(.float32)
        var trainer = SparseAutoencoderTrainer()
        trainer.l1Coefficient = 0.05
        let optimizer = Adam([sae.encoderWeight, sae.encoderBias, sae.decoderWeight, sae.decoderBias], learningRate: 1e-3)
        let (_, _, f) = try withGrad { try trainer.objective(sae, x) }
        #expect(try Self.relative(f, Self.reference["features"]!) < 1e-5)
        #expect(try Self.relative(noGrad { try sae(x) }, Self.reference["reconstruction"]!) < 1e-5)
        // The step: gradients as PyTorch's, after the parallel part of W_dec's is removed.
        let (loss, mse, _) = try trainer.step(sae, x, optimizer: optimizer)
        let expectedLoss = try Self.reference["loss"]![0].item(), expectedMSE = try Self.reference["mse"]![0].item()
        #expect(Swift.abs(try loss.item() - expectedLoss) < 1e-5 * expectedLoss)
        #expect(Swift.abs(try mse.item() - expectedMSE) < 1e-5 * expectedMSE)
        for (name, tensor) in [("W_enc", sae.encoderWeight), ("b_enc", sae.encoderBias), ("W_dec", sae.decoderWeight), ("b_dec", sae.decoderBias)] {
            #expect(try Self.relative(tensor.grad!, Self.reference["grad.\(name)"]!) < 1e-5, "gradient of \(name)")
            #expect(try maxDifference(tensor.to(.float64), Self.reference["after.\(name)"]!) < 1e-6, "\(name) after the step")
        }
        #expect(try maxDifference(sae.decoderWeight.norm(dims: [1]), Tensor.ones([16])) < 1e-6)
    }

    @Test("TopK keeps each input's k largest activations and its squared error matches PyTorch")
    func topK() throws {
        let sae = try Self.autoencoder(topK: 3)
        let x = try Self.reference["x"]!.to(.float32)
        let f = try noGrad { try sae.encode(x) }
        #expect(try Self.relative(f, Self.reference["topk.features"]!) < 1e-5)
        #expect(try f.gt(0).to(.int64).sum(dims: [1]).max().itemInt() <= 3)
        let (loss, _, _) = try noGrad { try SparseAutoencoderTrainer().objective(sae, x) }
        let expected = try Self.reference["topk.mse"]![0].item()
        #expect(Swift.abs(try loss.item() - expected) < 1e-5 * expected)
        #expect(throws: TorchError.self) { try SparseAutoencoder(.init(inputs: 8, features: 4, topK: 5)) }
    }

    @Test("the geometric median matches SciPy's minimiser of the summed distances")
    func geometricMedian() throws {
        let median = try GeometricMedian.of(Self.reference["median.points"]!.to(.float32))
        // float32 input, float64 iteration; the minimiser converged to about 1e-7.
        #expect(try maxDifference(median.to(.float64), Self.reference["median.value"]!) < 1e-5)
        #expect(throws: TorchError.self) { try GeometricMedian.of(Tensor.zeros([3])) }
    }

    @Test("dead features are resampled toward inputs, their encoder bias and Adam moments cleared; live ones untouched")
    func resampling() throws {
        let sae = try Self.autoencoder()
        let x = try Self.reference["x"]!.to(.float32)
        var trainer = SparseAutoencoderTrainer()
        trainer.resampleInputs = 32
        let optimizer = Adam([sae.encoderWeight, sae.encoderBias, sae.decoderWeight, sae.decoderBias], learningRate: 1e-3)
        _ = try trainer.step(sae, x, optimizer: optimizer)
        let before = try sae.decoderWeight.detached().clone()
        let data = try ActivationMatrix(x)
        try trainer.resample(sae, dead: [2, 7], data: data, generator: Generator(seed: 1))
        try trainer.clearMoments(of: [2, 7], in: optimizer, features: 16)
        let after = try sae.decoderWeight.detached()
        // Rows 2 and 7 are unit-length copies of batch rows; the others did not move.
        let unitInputs = try x / x.norm(dims: [1], keepDims: true)
        for row in [2, 7] {
            #expect(try unitInputs.matmul(after[row].unsqueezed(dim: 1)).max().item() > 1 - 1e-5)
        }
        let others = try Tensor([0, 1, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15].map { Int64($0) }, shape: [14])
        #expect(try maxDifference(after.indexSelect(dim: 0, index: others), before.indexSelect(dim: 0, index: others)) == 0)
        #expect(try sae.encoderBias[2].item() == 0 && sae.encoderBias[7].item() == 0)
        let state = try optimizer.state()
        #expect(try state["exp_avg.2"]![2].abs().max().item() == 0 && state["exp_avg.2"]![3].abs().max().item() > 0)
        #expect(try state["exp_avg_sq.0"]!.select(dim: 1, index: 7).abs().max().item() == 0)
    }

    @Test("an interrupted run resumes from its checkpoint with its reports; other settings are refused")
    func resume() throws {
        let data = try SyntheticFeatures(features: 24, dimension: 12, density: 0.08, generator: Generator(seed: 0))
        let folder = try temporaryFolder().path
        var trainer = SparseAutoencoderTrainer()
        (trainer.steps, trainer.batchSize, trainer.warmupSteps, trainer.learningRate, trainer.l1Coefficient, trainer.medianInputs) = (60, 128, 10, 3e-3, 0.3, 256)
        (trainer.checkpointPath, trainer.checkpointEvery) = ("\(folder)/checkpoint.safetensors", 20)
        struct Interrupted: Error {}
        let sae = try SparseAutoencoder(.init(inputs: 12, features: 24), generator: Generator(seed: 1))
        #expect(throws: Interrupted.self) {
            try trainer.train(sae, on: data, reportEvery: 20) { report in if report.step == 40 { throw Interrupted() } }
        }
        let fresh = try SparseAutoencoder(.init(inputs: 12, features: 24), generator: Generator(seed: 7))
        let reports = try trainer.train(fresh, on: data, reportEvery: 20, resume: true)
        #expect(reports.map(\.step) == [20, 40, 60] && reports[2].mse < reports[0].mse)
        var other = trainer
        other.l1Coefficient = 0.1
        #expect { try other.train(fresh, on: data, reportEvery: 20, resume: true) } throws: { ($0 as? TorchError)?.message.contains("other settings") == true }
        var missing = trainer
        missing.checkpointPath = "\(folder)/none.safetensors"
        #expect { try missing.train(fresh, on: data, resume: true) } throws: { ($0 as? TorchError)?.message.contains("no checkpoint") == true }
    }

    @Test("on synthetic data the autoencoder finds the true dictionary; metrics count L0, dead features and explained variance")
    func syntheticRecovery() throws {
        let generator = Generator(seed: 0)
        let data = try SyntheticFeatures(features: 24, dimension: 12, density: 0.08, generator: generator)
        let sae = try SparseAutoencoder(.init(inputs: 12, features: 48), generator: Generator(seed: 1))
        var trainer = SparseAutoencoderTrainer()
        (trainer.steps, trainer.batchSize, trainer.warmupSteps, trainer.learningRate, trainer.l1Coefficient) = (3000, 256, 100, 3e-3, 0.3)
        (trainer.resampleAt, trainer.deadWindow, trainer.resampleInputs, trainer.medianInputs) = ([1000, 2000], 200, 4096, 1024)
        let reports = try trainer.train(sae, on: data, reportEvery: 1000)
        #expect(reports.map(\.step) == [1000, 2000, 3000])
        let recovery = try data.recovery(sae.decoderWeight.detached())
        #expect(recovery > 0.9, "mean max cosine \(recovery)")
        let metrics = try SparseAutoencoderMetrics(sae, activations: data.batch(4096, generator: Generator(seed: 9)))
        #expect(metrics.varianceExplained > 0.8 && metrics.l0 > 0.5 && metrics.l0 < 12, "\(metrics.varianceExplained) \(metrics.l0)")
        #expect(metrics.frequencies.count == 48 && metrics.frequencyHistogram.map(\.features).reduce(0, +) == 48 - Int(metrics.deadFraction * 48))
        // A random dictionary of the same size recovers far less.
        let random = try Tensor.randn([48, 12], generator: Generator(seed: 5))
        #expect(try data.recovery(random) < 0.75)
    }
}
