import Adversarial
import Datasets
import Foundation
import NN
import Torch

/// `glassbox bench attack`: PGD (L∞, 40 steps, random start) against torchattacks 3.5.1 on the
/// same weights, inputs, labels and threads (bench/attack_bench.py): the demo CNN on 256 bundled
/// digits (ε 0.3, step 0.01, Madry et al.'s MNIST setting) and a ResNet-18 with random weights on
/// 4 random 224×224 images (ε 8/255, step 2/255). The two sides take turns, one timed run each per
/// round (the peer in a fresh process, after its own warm-up), so a busy spell on a shared
/// machine falls on both rather than on whichever side ran then. Agreement: the peer's last
/// round also runs once from a stored random start, which Glassbox replays (agreement: the share
/// of values within 1e-6).
public struct AttackBenchmark {
    public struct Model: Sendable {
        public var name: String
        public var inputs: Int
        public var epsilon: Double, stepSize: Double
    }

    public static let allModels = [
        Model(name: "mnist-cnn", inputs: 256, epsilon: 0.3, stepSize: 0.01),
        Model(name: "resnet18-224", inputs: 4, epsilon: 8.0 / 255, stepSize: 2.0 / 255),
    ]
    public static let steps = 40

    public var models: [Model]
    public var repeats: Int
    public var seed: UInt64
    public var peer: (python: String, script: String)?

    public init(models: [Model], repeats: Int, seed: UInt64, peer: (python: String, script: String)?) {
        (self.models, self.repeats, self.seed, self.peer) = (models, repeats, seed, peer)
    }

    public struct Row: Sendable {
        public var model: String
        public var inputs: Int
        public var glassboxSeconds: Double
        public var torchattacksSeconds: Double?
        /// The share of values within 1e-6 of torchattacks' examples from the same start (nil without
        /// the peer). Below 1 where a gradient near zero rounds to the other sign (Winograd kernels
        /// round differently) and that value walks elsewhere.
        public var agreement: Double?

        public var speedUp: Double? { torchattacksSeconds.map { $0 / glassboxSeconds } }
    }

    public struct Result: Sendable {
        public var rows: [Row]
        public var peerNote: String
        public var machine: MachineDescription
    }

    public func run() throws -> Result {
        var rows: [Row] = []
        var peerNote = peer == nil ? "torchattacks skipped (--no-peer)." : ""
        var peerRuns = peer != nil
        for spec in models {
            let generator = Generator(seed: seed)
            let model: Module, x: Tensor
            if spec.name == "mnist-cnn" {
                model = try Architectures.mnistCNN(generator: generator)
                x = try MNIST.bundled().test.images[0..<spec.inputs]
            } else {
                model = try ResNet18(classes: 1000, generator: generator)
                x = try Tensor.rand([spec.inputs, 3, 224, 224], generator: generator)
            }
            model.eval()
            let labels = try noGrad { try model(x).argmax(dim: 1) }
            let attack = ProjectedGradientDescent(model, epsilon: spec.epsilon, steps: Self.steps, stepSize: spec.stepSize)
            var ours: [Double] = [], theirs: [Double] = []
            var agreement: Double?
            _ = try attack.perturb(x, goal: .misclassify(labels: labels))
            for round in 0..<repeats {
                let start = Date()
                _ = try attack.perturb(x, goal: .misclassify(labels: labels))
                ours.append(Date().timeIntervalSince(start))
                ProgressObserver.note("glassbox \(spec.name), round \(round + 1): \(String(format: "%.3f", ours.last!)) s")
                guard peerRuns, let peer else { continue }
                do {
                    let last = round == repeats - 1
                    let (seconds, tensors, note) = try peerRound(peer, spec: spec, model: model, x: x, labels: labels, examples: last)
                    theirs.append(seconds)
                    peerNote = note
                    ProgressObserver.note("torchattacks \(spec.name), round \(round + 1): \(String(format: "%.3f", seconds)) s")
                    if let offsets = tensors["\(spec.name).start"], let adversarial = tensors["\(spec.name).adversarial"] {
                        var replay = ProjectedGradientDescent(model, epsilon: spec.epsilon, steps: Self.steps, stepSize: spec.stepSize)
                        replay.startingOffsets = offsets
                        let close = try (replay.perturb(x, goal: .misclassify(labels: labels)) - adversarial).abs().le(1e-6)
                        agreement = try close.to(.float64).mean().item()
                    }
                } catch let error as TorchError {
                    peerNote = "torchattacks did not run: \(error.message)"
                    peerRuns = false
                    theirs = []
                }
            }
            rows.append(Row(model: spec.name, inputs: spec.inputs, glassboxSeconds: SENNAnalysis.median(ours),
                            torchattacksSeconds: theirs.isEmpty ? nil : SENNAnalysis.median(theirs), agreement: agreement))
        }
        return Result(rows: rows, peerNote: peerNote, machine: MachineDescription.measuringBusyCores())
    }

    /// One timed torchattacks run of `spec` (after the peer's warm-up) in a fresh process, with
    /// its random start and examples when `examples`.
    func peerRound(_ peer: (python: String, script: String), spec: Model, model: Module, x: Tensor, labels: Tensor,
                   examples: Bool) throws -> (seconds: Double, tensors: [String: Tensor], note: String) {
        let settings: [String: Any] = ["threads": Torch.threads, "repeats": 1, "steps": Self.steps, "examples": examples,
                                       "models": [["name": spec.name, "epsilon": spec.epsilon, "step_size": spec.stepSize]]]
        let (json, tensors) = try AttributionBenchmark.runPeer(peer, named: "attack", settings: settings, prepare: { folder in
            try Safetensors.write(model.stateDict(), to: "\(folder)/\(spec.name).weights.safetensors")
            try Safetensors.write(["inputs": x, "labels": labels], to: "\(folder)/\(spec.name).inputs.safetensors")
        }, read: { folder in
            // No examples file (an older or stand-in peer): no agreement, the times still count.
            let file = "\(folder)/attack_examples.safetensors"
            return (try AttributionBenchmark.peerResults(folder, "attack_results.json"),
                    examples && FileManager.default.fileExists(atPath: file) ? try Safetensors.read(file).tensors : [:])
        })
        guard let seconds = (json?["seconds"] as? [String: Double])?[spec.name] else {
            throw TorchError("\(peer.script) wrote no time for \(spec.name)")
        }
        let note = "torchattacks \(json?["torchattacks"] as? String ?? "?") on PyTorch \(json?["torch"] as? String ?? "?"), eager mode, same weights, inputs, labels and threads; the two sides alternate, one run each per round."
        return (seconds, tensors, note)
    }
}
