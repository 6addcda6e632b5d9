import DictionaryLearning
import Foundation
import NN
import Torch

/// `glassbox bench sae`: sparse-autoencoder training throughput (×8 on 512 inputs, batches of
/// 4,096, ReLU with an L1 penalty) against a plain PyTorch training loop of the same autoencoder
/// (bench/sae_bench.py: the operations SAELens's loop performs — encoder, decoder, squared error
/// and L1, backward, the decoder gradient's parallel part removed, Adam, rows renormalised,
/// which features fired), on the same activations, steps and threads. Both start from the same
/// weights; each side warms up first.
public struct SAEBenchmark {
    public var inputs = 512, expansion = 8, batchSize = 4096, steps = 50, warmupSteps = 5
    public var l1Coefficient = 1e-3
    public var repeats: Int
    public var seed: UInt64
    public var peer: (python: String, script: String)?

    public init(repeats: Int, seed: UInt64, peer: (python: String, script: String)?) {
        (self.repeats, self.seed, self.peer) = (repeats, seed, peer)
    }

    public struct Result: Sendable {
        public var activationsPerSecond: Double
        public var pytorchActivationsPerSecond: Double?
        /// L0 averaged over the last run's steps.
        public var meanL0: Double
        public var peerNote: String
        public var machine: MachineDescription
    }

    public func run() throws -> Result {
        let generator = Generator(seed: seed)
        // Sparse sums of 2,048 random directions: activations with dictionary structure, so
        // features sparsify as training goes, as on a real layer.
        let data = try SyntheticFeatures(features: 2048, dimension: inputs, density: 0.01, generator: generator).batch(65_536, generator: generator)
        let initial = try SparseAutoencoder(.init(inputs: inputs, features: inputs * expansion), generator: Generator(seed: seed &+ 1))
        var trainer = SparseAutoencoderTrainer()
        (trainer.batchSize, trainer.l1Coefficient, trainer.warmupSteps, trainer.medianInputs, trainer.resampleAt, trainer.seed) =
            (batchSize, l1Coefficient, 0, 0, [], seed)
        func timedRun(steps: Int) throws -> (seconds: Double, l0: Double) {
            let sae = try SparseAutoencoder(initial.configuration)
            try sae.loadStateDict(initial.stateDict())
            var run = trainer
            run.steps = steps
            let started = Date()
            let reports = try run.train(sae, on: ActivationMatrix(data), reportEvery: steps)
            return (Date().timeIntervalSince(started), reports.last?.l0 ?? .nan)
        }
        _ = try timedRun(steps: warmupSteps)
        let runs = try (0..<repeats).map { _ in try timedRun(steps: steps) }
        let median = runs.map(\.seconds).sorted()[runs.count / 2]
        var result = Result(activationsPerSecond: Double(steps * batchSize) / median, meanL0: runs.last?.l0 ?? .nan,
                            peerNote: "PyTorch skipped (--no-peer).", machine: MachineDescription.current)
        guard let peer else { return result }
        let settings: [String: Any] = ["batch_size": batchSize, "steps": steps, "warmup_steps": warmupSteps, "l1": l1Coefficient,
                                       "learning_rate": trainer.learningRate, "repeats": repeats, "threads": Torch.threads, "seed": Int(seed)]
        do {
            ProgressObserver.note("PyTorch: the same autoencoder in a plain training loop")
            let json = try AttributionBenchmark.runPeer(peer, named: "sae", settings: settings, prepare: { folder in
                try Safetensors.write(initial.stateDict().merging(["data": data]) { $1 }, to: "\(folder)/inputs.safetensors")
            }, read: { try AttributionBenchmark.peerResults($0, "sae_results.json") })
            result.pytorchActivationsPerSecond = (json?["seconds"] as? Double).map { Double(steps * batchSize) / $0 }
            result.peerNote = "PyTorch \(json?["torch"] as? String ?? "?") in the same run: same weights, activations, steps, batch and threads; its mean L0 \(String(format: "%.0f", json?["l0"] as? Double ?? .nan))."
        } catch let error as TorchError {
            result.peerNote = "PyTorch did not run: \(error.message)"
        }
        return result
    }
}
