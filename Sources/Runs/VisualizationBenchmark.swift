import Datasets
import Foundation
import NN
import Torch
import Visualization

/// `glassbox bench visualize`: feature visualisation of 16 channels of the demo CNN's second
/// convolution (hook point "3"), Fourier parametrisation, jitter, rescaling and rotation, 128 steps of Adam,
/// against the same loop written in plain PyTorch (bench/visualize_bench.py: same weights,
/// starting spectrum, bases, objective, transforms' distribution and threads). Agreement: both
/// sides again for 8 steps without transforms, the largest difference of the images.
public struct VisualizationBenchmark {
    public var steps = 128
    public var repeats: Int
    public var seed: UInt64
    public var peer: (python: String, script: String)?

    public init(repeats: Int, seed: UInt64, peer: (python: String, script: String)?) {
        (self.repeats, self.seed, self.peer) = (repeats, seed, peer)
    }

    public struct Result: Sendable {
        public var objectives: Int, steps: Int
        public var glassboxSeconds: Double
        public var pytorchSeconds: Double?
        public var agreement: Double?
        public var peerNote: String
        public var machine: MachineDescription
        public var speedUp: Double? { pytorchSeconds.map { $0 / glassboxSeconds } }
    }

    public func run() throws -> Result {
        let model = try Architectures.mnistCNN(generator: Generator(seed: seed))
        model.eval()
        let objectives = (0..<16).map { FeatureObjective.channel(hookPoint: "3", channel: $0) }
        var visualization = FeatureVisualization(model, objectives: objectives)
        (visualization.steps, visualization.seed) = (steps, seed)
        let shape = MNIST.imageShape
        let (seconds, _) = try medianTime(repeats: repeats) { try visualization.run(imageShape: shape) }
        ProgressObserver.note("glassbox: \(String(format: "%.3f", seconds)) s")
        var result = Result(objectives: objectives.count, steps: steps, glassboxSeconds: seconds, peerNote: "PyTorch skipped (--no-peer).",
                            machine: MachineDescription.measuringBusyCores())
        guard let peer else { return result }
        // Agreement over 8 steps: later, Adam's normalised steps let rounding differences in
        // near-zero gradients grow into different images on both sides alike.
        var plain = visualization
        (plain.transforms, plain.steps) = (.none, 8)
        let ours = try plain.run(imageShape: shape).images
        let bases = try FourierBases(height: shape[1], width: shape[2])
        let start = try ImageParametrization.fourier.initialParameters(count: objectives.count, shape: shape, generator: Generator(seed: seed))
        let settings: [String: Any] = ["threads": Torch.threads, "repeats": repeats, "steps": steps, "learning_rate": visualization.learningRate,
                                       "jitter": visualization.transforms.jitter, "scales": visualization.transforms.scales,
                                       "rotations": visualization.transforms.rotations, "hook": 3,
                                       "agreement_steps": plain.steps]
        do {
            ProgressObserver.note("PyTorch: the same loop")
            let (json, theirs) = try AttributionBenchmark.runPeer(peer, named: "visualize", settings: settings, prepare: { folder in
                try Safetensors.write(model.stateDict(), to: "\(folder)/weights.safetensors")
                try Safetensors.write(["start": start, "cos_h": bases.cosH, "sin_h": bases.sinH, "cos_w": bases.cosW, "sin_w": bases.sinW,
                                       "scale": bases.scale], to: "\(folder)/inputs.safetensors")
            }, read: { folder in
                (try AttributionBenchmark.peerResults(folder, "visualize_results.json"),
                 try Safetensors.read("\(folder)/visualize_images.safetensors").tensors["images"])
            })
            result.pytorchSeconds = json?["seconds"] as? Double
            if let theirs, theirs.shape == ours.shape { result.agreement = try (ours - theirs).abs().max().item() }
            result.peerNote = "PyTorch \(json?["torch"] as? String ?? "?") in the same run: same weights, start, bases, objective and threads."
        } catch let error as TorchError {
            result.peerNote = "PyTorch did not run: \(error.message)"
        }
        return result
    }
}
