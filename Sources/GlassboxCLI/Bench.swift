import ArgumentParser
import ExplanationCore
import Attribution
import Datasets
import Evaluation
import Foundation
import NN
import Torch

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks against the reference libraries (prints a table).",
        subcommands: [BenchAttribution.self, BenchMetrics.self]
    )
}

/// One model of the attribution benchmark and its settings, shared with bench/captum_bench.py.
struct BenchModel: Codable {
    var name: String
    var architecture: String
    var classes: Int
    var window: [Int]
    var strides: [Int]
    var internalBatchSize: Int
    var perturbationsPerEvaluation: Int
    var shapSamples: Int

    enum CodingKeys: String, CodingKey {
        case name, architecture, classes, window, strides
        case internalBatchSize = "internal_batch_size", perturbationsPerEvaluation = "perturbations_per_eval", shapSamples = "shap_samples"
    }
}

struct BenchAttribution: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribution",
        abstract: "Time IG, SmoothGrad, Occlusion and KernelSHAP against Captum on the same models and inputs.",
        discussion: """
        Models: the demo MNIST CNN (32 bundled test digits; random weights) and a ResNet-18 at 3×224×224 (random weights,
        2 images). Settings: IG 50 steps, SmoothGrad 50 samples (σ 0.15), Occlusion windows 1×4×4 / 3×32×32 with
        half-window strides, KernelSHAP 200 coalitions over 49 patches.
        Captum runs in the same command through bench/captum_bench.py (PyTorch and captum, see `scripts/bench.sh`).
        Reports inputs per second, the speed-up, and how closely the results agree.
        """
    )

    @Option(help: "Python with torch and captum (default: .venv-tools/bin/python if present, else python3).") var python: String?
    @Option(help: "The peer script.") var script = "bench/captum_bench.py"
    @Option(help: "Timed runs per method (the median is reported), after one warm-up.") var repeats = 3
    @Flag(help: "Only the MNIST CNN.") var quick = false
    @Option(name: .customLong("model"), help: "Only this model (mnist-cnn or resnet18-224); repeatable.") var onlyModels: [String] = []
    @Flag(help: "Skip Captum; time Glassbox only.") var noPeer = false
    @Option(help: "Folder for the results JSON.") var out = "runs/bench"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
        let known = ["mnist-cnn", "resnet18-224"]
        if let unknown = onlyModels.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown --model '\(unknown)'; choose from \(known.joined(separator: ", "))")
        }
    }

    func models() -> [BenchModel] {
        let cnn = BenchModel(name: "mnist-cnn", architecture: "mnist-cnn", classes: 10, window: [1, 4, 4], strides: [1, 2, 2],
                             internalBatchSize: 800, perturbationsPerEvaluation: 64, shapSamples: 200)
        let resnet = BenchModel(name: "resnet18-224", architecture: "resnet18", classes: 1000, window: [3, 32, 32], strides: [3, 16, 16],
                                internalBatchSize: 25, perturbationsPerEvaluation: 16, shapSamples: 200)
        let all = quick ? [cnn] : [cnn, resnet]
        return onlyModels.isEmpty ? all : all.filter { onlyModels.contains($0.name) }
    }

    func run() throws {
        try common.apply()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-bench-\(ProcessInfo.processInfo.processIdentifier)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        var ours: [String: [String: Double]] = [:]
        var ourValues: [String: Tensor] = [:]
        var counts: [String: Int] = [:]
        var prepared: [(BenchModel, Module, Tensor, Tensor, Tensor)] = []
        for spec in models() {
            let (model, x, mask) = try prepare(spec)
            let targets = try noGrad { try model(x).argmax(dim: 1) }
            try Safetensors.write(model.stateDict(), to: "\(folder)/\(spec.name).weights.safetensors")
            try Safetensors.write(["inputs": x, "targets": targets, "mask": mask], to: "\(folder)/\(spec.name).inputs.safetensors")
            prepared.append((spec, model, x, targets, mask))
            counts[spec.name] = x.shape[0]
            let target = Target.indices(try targets.scalars(as: Int64.self).map { Int($0) })
            for (method, attribute) in try methods(spec, model: model, mask: mask, featureShape: Array(x.shape.dropFirst())) {
                let (seconds, values) = try timed { try attribute.attribute(x, target: target).values }
                ours[spec.name, default: [:]][method] = seconds
                ourValues["\(spec.name).\(method)"] = values
                FileHandle.standardError.write(Data("glassbox \(spec.name) \(method): \(String(format: "%.3f", seconds)) s\n".utf8))
            }
        }

        var captum: [String: [String: Double]] = [:]
        var captumValues: [String: Tensor] = [:]
        var peerNote = ""
        if noPeer {
            peerNote = "Captum skipped (--no-peer)."
        } else {
            let settings: [String: Any] = ["threads": Torch.threads, "repeats": repeats,
                                           "models": try models().map { try JSONSerialization.jsonObject(with: JSONEncoder().encode($0)) }]
            try AtomicFile.write(JSONSerialization.data(withJSONObject: settings), to: "\(folder)/settings.json")
            switch runPeer(folder: folder) {
            case .success:
                let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/captum_results.json"))) as? [String: Any]
                captum = json?["seconds"] as? [String: [String: Double]] ?? [:]
                captumValues = try Safetensors.read("\(folder)/captum_attributions.safetensors").tensors
                peerNote = "Captum \(json?["captum"] as? String ?? "?") on PyTorch \(json?["torch"] as? String ?? "?"), eager mode, same weights, inputs, targets and threads."
            case .failure(let error):
                peerNote = "Captum did not run: \(error.message)"
            }
        }

        print("\nAttribution throughput (\(Torch.threads) threads, median of \(repeats) runs after a warm-up)\n")
        let header = ["model", "method", "Glassbox inputs/s", "Captum inputs/s", "speed-up", "agreement"]
        var rows: [[String]] = []
        var records: [[String: Any]] = []
        for (spec, model, x, targets, _) in prepared {
            for method in ["integrated-gradients", "smoothgrad", "occlusion", "kernel-shap"] {
                let n = Double(counts[spec.name]!)
                let mine = ours[spec.name]?[method]
                let theirs = captum[spec.name]?[method]
                let agreement = try self.agreement(spec: spec, method: method, model: model, x: x, targets: targets,
                                                   ours: ourValues["\(spec.name).\(method)"], theirs: captumValues["\(spec.name).\(method)"],
                                                   draws: captumValues.filter { $0.key.hasPrefix("\(spec.name).") })
                rows.append([spec.name, method, mine.map { String(format: "%.2f", n / $0) } ?? "-",
                             theirs.map { String(format: "%.2f", n / $0) } ?? "-",
                             (mine != nil && theirs != nil) ? String(format: "%.2fx", theirs! / mine!) : "-", agreement])
                records.append(["model": spec.name, "method": method, "glassbox_seconds": mine ?? NSNull(),
                                "captum_seconds": theirs ?? NSNull(), "inputs": Int(n), "agreement": agreement])
            }
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        for line in [header] + rows {
            print(line.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        print("\n\(peerNote)")
        print("agreement: max |Δ| / max |Captum|; SmoothGrad and KernelSHAP replay Captum's own noise and coalitions. Captum fits KernelSHAP in float32, which limits that row to about 1e-3.")
        try AtomicFile.write(JSONSerialization.data(withJSONObject: ["threads": Torch.threads, "repeats": repeats, "peer": peerNote, "rows": records],
                                                    options: [.prettyPrinted, .sortedKeys]),
                             to: "\(out)/attribution.json")
    }

    func prepare(_ spec: BenchModel) throws -> (Module, Tensor, Tensor) {
        let generator = Generator(seed: common.seed)
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
        var settings = MethodSettings(seed: common.seed)
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

    func timed(_ body: () throws -> Tensor) throws -> (Double, Tensor) {
        var result = try body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = Date()
            result = try body()
            times.append(Date().timeIntervalSince(start))
        }
        return (times.sorted()[times.count / 2], result)
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

    enum PeerResult { case success, failure(TorchError) }

    func runPeer(folder: String) -> PeerResult {
        let interpreter = python ?? (FileManager.default.isExecutableFile(atPath: ".venv-tools/bin/python") ? ".venv-tools/bin/python" : "python3")
        guard FileManager.default.fileExists(atPath: script) else {
            return .failure(TorchError("\(script) not found; run from the repository root or pass --script"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [interpreter, script, folder]
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            return .failure(TorchError("cannot start \(interpreter): \(error.localizedDescription)"))
        }
        guard process.terminationStatus == 0 else {
            return .failure(TorchError("\(interpreter) \(script) exited with status \(process.terminationStatus); `scripts/bench.sh` sets up PyTorch and captum"))
        }
        return .success
    }
}

struct BenchMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Time every explanation metric on the MNIST CNN (Saliency and Integrated Gradients maps, 32 digits)."
    )

    @Option(help: "Timed runs per metric (median reported), after one warm-up.") var repeats = 3
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let model = try Architectures.mnistCNN(generator: Generator(seed: common.seed))
        model.eval()
        let x = try MNIST.bundled().test.images.slice(dim: 0, start: 0, end: 32)
        let methods: [(String, AttributionMethod)] = [("saliency", Saliency(model)), ("integrated-gradients", IntegratedGradients(model))]
        print("Explanation metric cost (\(Torch.threads) threads, 32 digits, median of \(repeats) runs; attributions precomputed\n except where the metric recomputes them)\n")
        var rows: [[String]] = [["metric", "method", "seconds", "examples/s"]]
        for name in MetricCatalog.defaultNames {
            let metric = try MetricCatalog.metric(named: name, seed: common.seed, featureCount: 784)
            for (methodName, method) in methods {
                let attributions = try method.attribute(x, target: .predicted).values
                _ = try metric.score(method, inputs: x, target: .predicted, attributions: attributions)
                var times: [Double] = []
                for _ in 0..<repeats {
                    let start = Date()
                    _ = try metric.score(method, inputs: x, target: .predicted, attributions: attributions)
                    times.append(Date().timeIntervalSince(start))
                }
                let median = times.sorted()[times.count / 2]
                rows.append([name, methodName, String(format: "%.3f", median), String(format: "%.1f", 32 / median)])
            }
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
        for row in rows {
            print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}
