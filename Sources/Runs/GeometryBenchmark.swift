import Datasets
import Foundation
import Geometry
import NN
import Torch

/// `glassbox bench geometry`: every input's Jacobian of the demo CNN's 128-wide hidden layer
/// (hook point "9") with respect to its 784-pixel input, for 256 bundled test digits, against
/// `torch.autograd.functional.jacobian` on the same weights, inputs and threads
/// (bench/geometry_bench.py, both of its modes; the faster one is the reference).
public struct GeometryBenchmark {
    public var inputs = 256
    public var repeats: Int
    public var seed: UInt64
    public var peer: (python: String, script: String)?

    public init(repeats: Int, seed: UInt64, peer: (python: String, script: String)?) {
        (self.repeats, self.seed, self.peer) = (repeats, seed, peer)
    }

    public struct Result: Sendable {
        public var inputs: Int
        public var glassboxSeconds: Double
        public var pytorchSeconds: [String: Double]
        /// max |ours − theirs| / max |theirs| against the faster PyTorch mode.
        public var agreement: Double?
        public var peerNote: String
        public var machine: MachineDescription

        public var fasterPeer: (mode: String, seconds: Double)? { pytorchSeconds.min { $0.value < $1.value }.map { ($0.key, $0.value) } }
    }

    public func run() throws -> Result {
        let model = try Architectures.mnistCNN(generator: Generator(seed: seed))
        model.eval()
        let x = try MNIST.bundled().test.images.slice(dim: 0, start: 0, end: inputs)
        let jacobian = LayerJacobian(from: LayerJacobian.modelInput, to: "9")
        _ = try jacobian(model, inputs: x.slice(dim: 0, start: 0, end: 16))
        var times: [Double] = [], ours: Tensor?
        for _ in 0..<repeats {
            let started = Date()
            ours = try jacobian(model, inputs: x)
            times.append(Date().timeIntervalSince(started))
        }
        var result = Result(inputs: inputs, glassboxSeconds: times.sorted()[times.count / 2], pytorchSeconds: [:],
                            peerNote: "PyTorch skipped (--no-peer).", machine: MachineDescription.current)
        guard let peer, let ours else { return result }
        let settings: [String: Any] = ["layers": 10, "repeats": repeats, "threads": Torch.threads]
        do {
            ProgressObserver.note("PyTorch: torch.autograd.functional.jacobian, vectorize False and True")
            let (json, theirs) = try AttributionBenchmark.runPeer(peer, named: "geometry", settings: settings, prepare: { folder in
                try Safetensors.write(model.stateDict(), to: "\(folder)/weights.safetensors")
                try Safetensors.write(["inputs": x], to: "\(folder)/inputs.safetensors")
            }, read: { folder in
                (try AttributionBenchmark.peerResults(folder, "geometry_results.json"),
                 try Safetensors.read("\(folder)/geometry_jacobians.safetensors").tensors["jacobians"])
            })
            result.pytorchSeconds = json?["seconds"] as? [String: Double] ?? [:]
            if let theirs, theirs.shape == ours.shape {
                result.agreement = try (ours - theirs).abs().max().item() / max(try theirs.abs().max().item(), 1e-30)
            }
            result.peerNote = "PyTorch \(json?["torch"] as? String ?? "?") in the same run: same weights, inputs and threads."
        } catch let error as TorchError {
            result.peerNote = "PyTorch did not run: \(error.message)"
        }
        return result
    }
}
