import Foundation
import NN
import Superposition
import Torch

/// `glassbox bench superposition`: the toy-model sparsity sweep (every sparsity, linear and ReLU
/// output, trained at once) against the same batched model written in PyTorch
/// (bench/superposition_bench.py), same sizes, steps, batch and threads; each side warms up on
/// 200 steps first.
public struct SuperpositionBenchmark {
    public var sweep: SparsitySweep
    public var repeats: Int
    public var peer: (python: String, script: String)?

    public init(sweep: SparsitySweep, repeats: Int, peer: (python: String, script: String)?) {
        (self.sweep, self.repeats, self.peer) = (sweep, repeats, peer)
    }

    public struct Result: Sendable {
        public var glassboxSeconds: Double
        public var pytorchSeconds: Double?
        public var peerNote: String
        public var machine: MachineDescription
    }

    public func run() throws -> Result {
        var warmUp = sweep
        warmUp.steps = 200
        _ = try warmUp.run(seed: 0)
        var times: [Double] = []
        for repeat_ in 0..<repeats {
            let started = Date()
            _ = try sweep.run(seed: UInt64(repeat_))
            times.append(Date().timeIntervalSince(started))
        }
        var result = Result(glassboxSeconds: times.sorted()[times.count / 2], peerNote: "PyTorch skipped (--no-peer).", machine: MachineDescription.current)
        guard let peer else { return result }
        let settings: [String: Any] = [
            "features": sweep.features, "hidden": sweep.hidden, "importance_decay": sweep.importanceDecay, "sparsities": sweep.sparsities,
            "steps": sweep.steps, "batch_size": sweep.batchSize, "learning_rate": sweep.learningRate, "repeats": repeats, "threads": Torch.threads,
        ]
        do {
            ProgressObserver.note("PyTorch: the same sweep (about twice as long)")
            let json = try AttributionBenchmark.runPeer(peer, named: "superposition", settings: settings, prepare: { _ in },
                                                        read: { try AttributionBenchmark.peerResults($0, "superposition_results.json") })
            result.pytorchSeconds = json?["seconds"] as? Double
            result.peerNote = "PyTorch \(json?["torch"] as? String ?? "?") in the same run: same instances, sizes, steps, batch and threads."
        } catch let error as TorchError {
            result.peerNote = "PyTorch did not run: \(error.message)"
        }
        return result
    }
}
