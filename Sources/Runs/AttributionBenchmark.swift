import Attribution
import Datasets
import Evaluation
import ExplanationCore
import Foundation
import NN
import Torch

/// One model of the attribution benchmark and its settings, shared with bench/captum_bench.py.
public struct BenchModel: Codable, Sendable {
    public var name: String
    public var architecture: String
    public var classes: Int
    public var window: [Int]
    public var strides: [Int]
    public var internalBatchSize: Int
    public var perturbationsPerEvaluation: Int
    public var shapSamples: Int

    enum CodingKeys: String, CodingKey {
        case name, architecture, classes, window, strides
        case internalBatchSize = "internal_batch_size", perturbationsPerEvaluation = "perturbations_per_eval", shapSamples = "shap_samples"
    }
}

/// `glassbox bench attribution`: IG, SmoothGrad, occlusion and KernelSHAP timed against Captum on
/// the same models, weights, inputs, targets and threads (bench/captum_bench.py runs Captum).
public struct AttributionBenchmark {
    public var models: [BenchModel]
    public var repeats = 3
    public var seed: UInt64 = 0
    /// Python with torch and captum, and the peer script; nil skips Captum.
    public var peer: (python: String, script: String)?

    /// The benchmark's two models: the demo CNN on 32 bundled digits, and a ResNet-18 on two 224×224 images (random weights).
    public static let allModels = [
        BenchModel(name: "mnist-cnn", architecture: "mnist-cnn", classes: 10, window: [1, 4, 4], strides: [1, 2, 2],
                   internalBatchSize: 800, perturbationsPerEvaluation: 64, shapSamples: 200),
        BenchModel(name: "resnet18-224", architecture: "resnet18", classes: 1000, window: [3, 32, 32], strides: [3, 16, 16],
                   internalBatchSize: 25, perturbationsPerEvaluation: 16, shapSamples: 200),
    ]
    public static let methodNames = ["integrated-gradients", "smoothgrad", "occlusion", "kernel-shap"]

    public struct Row: Sendable {
        public var model: String, method: String
        public var inputs: Int
        public var glassboxSeconds: Double?, captumSeconds: Double?
        /// max |Δ| / max |Captum|, as text ("-" when either side is missing).
        public var agreement: String
    }

    public struct Result: Sendable {
        public var rows: [Row]
        /// Which Captum ran, or why it did not.
        public var peerNote: String
        public var machine: MachineDescription
    }

    public init(models: [BenchModel], repeats: Int, seed: UInt64, peer: (python: String, script: String)?) {
        (self.models, self.repeats, self.seed, self.peer) = (models, repeats, seed, peer)
    }

    public func run() throws -> Result {
        let machine = MachineDescription.measuringBusyCores()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-bench-\(ProcessInfo.processInfo.processIdentifier)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // Glassbox's methods, each warmed up once; then per round one timed run of each and one
        // run of the peer (a fresh process, after its own warm-up), so a busy spell on a shared
        // machine falls on both sides rather than on whichever ran then.
        var ourTimes: [String: [String: [Double]]] = [:]
        var ourValues: [String: Tensor] = [:]
        var prepared: [(BenchModel, Module, Tensor, Tensor)] = []
        var timedMethods: [(model: String, method: String, run: () throws -> Tensor)] = []
        for spec in models {
            let (model, x, mask) = try prepare(spec)
            let targets = try noGrad { try model(x).argmax(dim: 1) }
            try Safetensors.write(model.stateDict(), to: "\(folder)/\(spec.name).weights.safetensors")
            try Safetensors.write(["inputs": x, "targets": targets, "mask": mask], to: "\(folder)/\(spec.name).inputs.safetensors")
            prepared.append((spec, model, x, targets))
            let target = Target.indices(try targets.scalars(as: Int64.self).map { Int($0) })
            for (method, attribute) in try methods(spec, model: model, mask: mask, featureShape: Array(x.shape.dropFirst())) {
                let run = { try attribute.attribute(x, target: target).values }
                ourValues["\(spec.name).\(method)"] = try run()
                timedMethods.append((spec.name, method, run))
            }
        }

        var captumTimes: [String: [String: [Double]]] = [:]
        var captumValues: [String: Tensor] = [:]
        var peerNote = "Captum skipped (--no-peer)."
        var peerRuns = peer != nil
        if peerRuns {
            let settings: [String: Any] = ["threads": Torch.threads, "repeats": 1,
                                           "models": try models.map { try JSONSerialization.jsonObject(with: JSONEncoder().encode($0)) }]
            try AtomicFile.write(JSONSerialization.data(withJSONObject: settings), to: "\(folder)/settings.json")
        }
        for round in 0..<repeats {
            for (model, method, run) in timedMethods {
                let start = Date()
                ourValues["\(model).\(method)"] = try run()
                ourTimes[model, default: [:]][method, default: []].append(Date().timeIntervalSince(start))
                ProgressObserver.note("glassbox \(model) \(method), round \(round + 1): \(String(format: "%.3f", ourTimes[model]![method]!.last!)) s")
            }
            guard let peer, peerRuns else { continue }
            do {
                try Self.runPeer(peer, folder: folder)
                let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/captum_results.json"))) as? [String: Any]
                for (model, seconds) in json?["seconds"] as? [String: [String: Double]] ?? [:] {
                    for (method, value) in seconds {
                        captumTimes[model, default: [:]][method, default: []].append(value)
                    }
                }
                captumValues = try Safetensors.read("\(folder)/captum_attributions.safetensors").tensors
                peerNote = "Captum \(json?["captum"] as? String ?? "?") on PyTorch \(json?["torch"] as? String ?? "?"), eager mode, same weights, inputs, targets and threads; the two sides alternate, one run each per round."
            } catch let error as TorchError {
                peerNote = "Captum did not run: \(error.message)"
                (peerRuns, captumTimes, captumValues) = (false, [:], [:])
            }
        }
        func median(_ times: [Double]?) -> Double? { times.map { $0.sorted()[$0.count / 2] } }

        var rows: [Row] = []
        for (spec, model, x, targets) in prepared {
            for method in Self.methodNames {
                let agreement = try self.agreement(spec: spec, method: method, model: model, x: x, targets: targets,
                                                   ours: ourValues["\(spec.name).\(method)"], theirs: captumValues["\(spec.name).\(method)"],
                                                   draws: captumValues.filter { $0.key.hasPrefix("\(spec.name).") })
                rows.append(Row(model: spec.name, method: method, inputs: x.shape[0], glassboxSeconds: median(ourTimes[spec.name]?[method]),
                                captumSeconds: median(captumTimes[spec.name]?[method]), agreement: agreement))
            }
        }
        return Result(rows: rows, peerNote: peerNote, machine: machine)
    }

    func prepare(_ spec: BenchModel) throws -> (Module, Tensor, Tensor) {
        let generator = Generator(seed: seed)
        if spec.architecture == "mnist-cnn" {
            let model = try Architectures.mnistCNN(generator: generator)
            model.eval()
            let x = try MNIST.bundled().test.images.slice(dim: 0, start: 0, end: 32)
            return (model, x, try benchMask(for: spec))
        }
        let model = try ResNet18(classes: spec.classes, generator: generator)
        model.eval()
        let x = try Tensor.rand([2, 3, 224, 224], generator: generator)
        return (model, x, try benchMask(for: spec))
    }

    /// KernelSHAP's groups: 49 square patches (4 pixels on MNIST, 32 on 224×224), so 200 coalitions determine the fit.
    func benchMask(for spec: BenchModel) throws -> Tensor {
        spec.architecture == "mnist-cnn" ? try MethodCatalog.patchMask(height: 28, width: 28, patch: 4)
            : try MethodCatalog.patchMask(height: 224, width: 224, patch: 32).expanded(to: [3, 224, 224]).contiguous()
    }

    /// The catalog's methods with the benchmark's settings, which bench/captum_bench.py mirrors.
    func methods(_ spec: BenchModel, model: Module, mask: Tensor, featureShape: [Int]) throws -> [(String, AttributionMethod)] {
        // Captum's per-eval counts are per example (its KernelSHAP takes one example at a time);
        // Glassbox evaluates all examples together, so each forward call holds that many per example.
        let examples = spec.name == "mnist-cnn" ? 32 : 2
        var settings = MethodSettings(seed: seed)
        settings.steps = 50
        settings.internalBatchSize = spec.internalBatchSize
        settings.samplesPerBatch = max(1, spec.internalBatchSize / examples)
        settings.perturbationsPerEvaluation = spec.perturbationsPerEvaluation * examples
        func method(_ name: String, _ change: (inout MethodSettings) -> Void = { _ in }) throws -> (String, AttributionMethod) {
            var own = settings
            change(&own)
            let options = try MethodCatalog.entry(named: name).options
            if !options.contains(.steps) { own.steps = nil }
            if !options.contains(.internalBatchSize) { own.internalBatchSize = nil }
            return (name, try MethodCatalog.method(named: name, model: model, featureShape: featureShape, settings: own))
        }
        return [
            try method("integrated-gradients"),
            try method("smoothgrad") { $0.samples = 50; $0.standardDeviation = 0.15 },
            try method("occlusion") { $0.window = spec.window; $0.strides = spec.strides },
            try method("kernel-shap") { $0.featureMask = mask; $0.samples = spec.shapSamples },
        ]
    }

    /// How closely Glassbox reproduces Captum's result, replaying Captum's own random draws for the sampling methods.
    func agreement(spec: BenchModel, method: String, model: Module, x: Tensor, targets: Tensor, ours: Tensor?, theirs: Tensor?,
                   draws: [String: Tensor]) throws -> String {
        guard let ours, let theirs, ours.shape == theirs.shape else { return "-" }
        func relative(_ a: Tensor, _ b: Tensor) throws -> String {
            let value = try (a.to(.float64) - b.to(.float64)).abs().max().item() / max(b.to(.float64).abs().max().item(), 1e-12)
            return String(format: "%.1e", value)
        }
        switch method {
        case "smoothgrad":
            guard let noise = draws["\(spec.name).smoothgrad.noise"] else { return "-" }
            var replay = NoiseTunnel(Saliency(model, absoluteValue: false), kind: .smoothGrad, samples: 50, standardDeviation: 0.15)
            replay.noise = noise
            replay.samplesPerBatch = 10
            let target = Target.indices(try targets.scalars(as: Int64.self).map { Int($0) })
            return try relative(replay.attribute(x, target: target).values, theirs)
        case "kernel-shap":
            guard let coalitions = draws["\(spec.name).kernel-shap.coalitions"] else { return "-" }
            var replayed: [Tensor] = []
            for row in 0..<x.shape[0] {
                var shap = KernelSHAP(model, featureMask: try benchMask(for: spec))
                shap.coalitions = try coalitions[row]
                replayed.append(try shap.attribute(x[row..<(row + 1)], target: .index(targets[row].itemInt())).values)
            }
            return try relative(Tensor.cat(replayed), theirs)
        default:
            return try relative(ours, theirs)
        }
    }

    /// The Python the peers run on: the project's `.venv-tools` when it exists, else `python3`.
    public static var defaultPython: String {
        FileManager.default.isExecutableFile(atPath: ".venv-tools/bin/python") ? ".venv-tools/bin/python" : "python3"
    }

    /// Runs `peer` on a fresh temporary folder holding settings.json and what `prepare` writes,
    /// and returns `read(folder)` before the folder is removed.
    static func runPeer<R>(_ peer: (python: String, script: String), named name: String, settings: [String: Any],
                           prepare: (String) throws -> Void, read: (String) throws -> R) throws -> R {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-\(name)-bench-\(ProcessInfo.processInfo.processIdentifier)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try prepare(folder)
        try JSONSerialization.data(withJSONObject: settings).write(to: URL(fileURLWithPath: "\(folder)/settings.json"))
        try runPeer(peer, folder: folder)
        return try read(folder)
    }

    /// The JSON object a peer wrote to `file` in `folder`.
    static func peerResults(_ folder: String, _ file: String) throws -> [String: Any]? {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(file)"))) as? [String: Any]
    }

    static func runPeer(_ peer: (python: String, script: String), folder: String) throws {
        guard FileManager.default.fileExists(atPath: peer.script) else {
            throw TorchError("\(peer.script) not found; run from the repository root or pass --script")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [peer.python, peer.script, folder]
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            throw TorchError("cannot start \(peer.python): \(error.localizedDescription)")
        }
        guard process.terminationStatus == 0 else {
            throw TorchError("\(peer.python) \(peer.script) exited with status \(process.terminationStatus); `scripts/bench.sh` sets up the Python peers (PyTorch, captum, scikit-learn)")
        }
    }
}

extension AttributionBenchmark {
    /// The results JSON: one record per row, with the machine it ran on.
    public static func write(_ result: Result, repeats: Int, to path: String) throws {
        let records: [[String: Any]] = result.rows.map { row in
            ["model": row.model, "method": row.method, "glassbox_seconds": row.glassboxSeconds ?? NSNull(),
             "captum_seconds": row.captumSeconds ?? NSNull(), "inputs": row.inputs, "agreement": row.agreement]
        }
        let machine: [String: Any] = ["cpu": result.machine.cpu, "vector_extensions": result.machine.vectorExtensions,
                                      "cores": result.machine.cores, "threads": result.machine.threads,
                                      "busy_cores_before": result.machine.busyCores ?? NSNull(),
                                      "convolution_path": result.machine.convolutionPath,
                                      "local_recomputation": result.machine.localRecomputation ?? NSNull()]
        try AtomicFile.write(JSONSerialization.data(withJSONObject: ["machine": machine, "threads": result.machine.threads, "repeats": repeats,
                                                                     "peer": result.peerNote, "rows": records],
                                                    options: [.prettyPrinted, .sortedKeys]), to: path)
    }
}

/// `glassbox bench metrics`: every default explanation metric timed on the MNIST CNN
/// (saliency and Integrated Gradients maps, 32 digits).
public enum MetricBenchmark {
    public struct Row: Sendable {
        public var metric: String, method: String
        /// Median seconds for the 32 digits.
        public var seconds: Double
    }

    public static func run(repeats: Int, seed: UInt64) throws -> [Row] {
        let model = try Architectures.mnistCNN(generator: Generator(seed: seed))
        model.eval()
        let x = try MNIST.bundled().test.images.slice(dim: 0, start: 0, end: 32)
        let methods: [(String, AttributionMethod)] = [("saliency", Saliency(model)), ("integrated-gradients", IntegratedGradients(model))]
        var rows: [Row] = []
        for name in MetricCatalog.defaultNames {
            let metric = try MetricCatalog.metric(named: name, seed: seed, featureCount: 784)
            for (methodName, method) in methods {
                let attributions = try method.attribute(x, target: .predicted).values
                let (seconds, _) = try medianTime(repeats: repeats) { try metric.score(method, inputs: x, target: .predicted, attributions: attributions) }
                rows.append(Row(metric: name, method: methodName, seconds: seconds))
                ProgressObserver.report("metrics", done: rows.count, of: MetricCatalog.defaultNames.count * methods.count, unit: "cells", status: name)
            }
        }
        return rows
    }
}

/// The median of `repeats` timed runs of `body` after one untimed warm-up, and the last run's result.
func medianTime<R>(repeats: Int, _ body: () throws -> R) throws -> (seconds: Double, result: R) {
    var result = try body()
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = Date()
        result = try body()
        times.append(Date().timeIntervalSince(start))
    }
    return (times.sorted()[times.count / 2], result)
}
