import Adversarial
import Datasets
import Foundation
import NN
import Torch

/// `glassbox bench attack`: PGD (L∞, 40 steps, random start) against torchattacks 3.5.1 on the
/// same weights, inputs, labels and threads (bench/attack_bench.py): the demo CNN on 256 bundled
/// digits (ε 0.3, step 0.01, Madry et al.'s MNIST setting) and a ResNet-18 with random weights on
/// 4 random 224×224 images (ε 8/255, step 2/255). Agreement: the peer also runs once from a
/// stored random start, which Glassbox replays (agreement: the share of values within 1e-6).
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
        var prepared: [String: (Module, Tensor, Tensor)] = [:]
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
            let (seconds, _) = try medianTime(repeats: repeats) { try attack.perturb(x, goal: .misclassify(labels: labels)) }
            ProgressObserver.note("glassbox \(spec.name): \(String(format: "%.3f", seconds)) s")
            rows.append(Row(model: spec.name, inputs: spec.inputs, glassboxSeconds: seconds))
            prepared[spec.name] = (model, x, labels)
        }
        var result = Result(rows: rows, peerNote: "torchattacks skipped (--no-peer).", machine: MachineDescription.measuringBusyCores())
        guard let peer else { return result }
        let settings: [String: Any] = ["threads": Torch.threads, "repeats": repeats, "steps": Self.steps,
                                       "models": models.map { ["name": $0.name, "epsilon": $0.epsilon, "step_size": $0.stepSize] }]
        do {
            ProgressObserver.note("torchattacks: PGD on the same models")
            let (json, tensors) = try AttributionBenchmark.runPeer(peer, named: "attack", settings: settings, prepare: { folder in
                for (name, (model, x, labels)) in prepared {
                    try Safetensors.write(model.stateDict(), to: "\(folder)/\(name).weights.safetensors")
                    try Safetensors.write(["inputs": x, "labels": labels], to: "\(folder)/\(name).inputs.safetensors")
                }
            }, read: { folder in
                (try AttributionBenchmark.peerResults(folder, "attack_results.json"),
                 try Safetensors.read("\(folder)/attack_examples.safetensors").tensors)
            })
            let seconds = json?["seconds"] as? [String: Double] ?? [:]
            for index in result.rows.indices {
                let spec = models[index]
                result.rows[index].torchattacksSeconds = seconds[spec.name]
                guard let (model, x, labels) = prepared[spec.name], let start = tensors["\(spec.name).start"],
                      let theirs = tensors["\(spec.name).adversarial"] else { continue }
                var replay = ProjectedGradientDescent(model, epsilon: spec.epsilon, steps: Self.steps, stepSize: spec.stepSize)
                replay.startingOffsets = start
                let close = try (replay.perturb(x, goal: .misclassify(labels: labels)) - theirs).abs().le(1e-6)
                result.rows[index].agreement = try close.to(.float64).mean().item()
            }
            result.peerNote = "torchattacks \(json?["torchattacks"] as? String ?? "?") on PyTorch \(json?["torch"] as? String ?? "?"), eager mode, same weights, inputs, labels and threads."
        } catch let error as TorchError {
            result.peerNote = "torchattacks did not run: \(error.message)"
        }
        return result
    }
}
