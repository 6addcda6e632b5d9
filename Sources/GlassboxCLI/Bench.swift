import ArgumentParser
import Attribution
import Foundation
import Runs
import Superposition
import Torch

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks against the reference libraries (prints a table).",
        subcommands: [BenchAttribution.self, BenchMetrics.self, BenchTransparent.self, BenchText.self, BenchSuperposition.self, BenchGeometry.self, BenchSAE.self, BenchAttack.self, BenchVisualize.self]
    )
}

/// The options every benchmark with a Python peer takes.
struct PeerOptions: ParsableArguments {
    @Option(help: "Python with the peer library (default: .venv-tools/bin/python if present, else python3; `scripts/bench.sh` installs it).") var python: String?
    @Flag(help: "Skip the peer; time Glassbox only.") var noPeer = false

    /// The interpreter and script to run, or nil with --no-peer.
    func peer(script: String) -> (python: String, script: String)? {
        noPeer ? nil : (python ?? AttributionBenchmark.defaultPython, script)
    }
}

struct BenchAttribution: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribution",
        abstract: "Time IG, SmoothGrad, Occlusion and KernelSHAP against Captum on the same models and inputs.",
        discussion: paragraphs("""
        Models: the demo MNIST CNN (32 bundled test digits; random weights) and a ResNet-18 at 3×224×224 (random weights,
        2 images). Settings: IG 50 steps, SmoothGrad 50 samples (σ 0.15), Occlusion windows 1×4×4 / 3×32×32 with
        half-window strides, KernelSHAP 200 coalitions over 49 patches.
        Captum runs in the same command through bench/captum_bench.py (PyTorch and captum, see `scripts/bench.sh`); the two
        sides alternate, one run of each method per round, in a fresh Captum process each round.
        Reports inputs per second, the speed-up, and how closely the results agree.
        """)
    )

    @Option(help: "The peer script.") var script = "bench/captum_bench.py"
    @Option(parsing: .unconditional, help: "Timed runs per method (the median is reported), after one warm-up.") var repeats = 3
    @Flag(help: "Only the MNIST CNN.") var quick = false
    @Option(name: .customLong("model"), help: "Only this model (mnist-cnn or resnet18-224); repeatable.") var onlyModels: [String] = []
    @OptionGroup var peerOptions: PeerOptions
    @Option(help: "Folder for the results JSON.") var out = "runs/bench"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
        let known = AttributionBenchmark.allModels.map(\.name)
        if let unknown = onlyModels.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown --model '\(unknown)'; choose from \(known.joined(separator: ", "))")
        }
    }

    func run() throws {
        try common.apply()
        let models = AttributionBenchmark.allModels.filter { (!quick || $0.name == "mnist-cnn") && (onlyModels.isEmpty || onlyModels.contains($0.name)) }
        let benchmark = AttributionBenchmark(models: models, repeats: repeats, seed: common.seed, peer: peerOptions.peer(script: script))
        let result = try showingProgress { try benchmark.run() }
        print("\nAttribution throughput (\(result.machine.summary); median of \(repeats) runs after a warm-up)\n")
        if let busy = result.machine.busyCores, busy > 0.3 {
            print(String(format: "warning: %.1f cores were busy with other work before the run; it slows both sides, Glassbox's convolution plans most\n", busy))
        }
        let rows = result.rows.map { row in
            [row.model, row.method, row.glassboxSeconds.map { String(format: "%.2f", Double(row.inputs) / $0) } ?? "-",
             row.captumSeconds.map { String(format: "%.2f", Double(row.inputs) / $0) } ?? "-",
             row.glassboxSeconds.flatMap { mine in row.captumSeconds.map { String(format: "%.2fx", $0 / mine) } } ?? "-", row.agreement]
        }
        printTable([["model", "method", "Glassbox inputs/s", "Captum inputs/s", "speed-up", "agreement"]] + rows)
        print("\n\(result.peerNote)")
        print("agreement: max |Δ| / max |Captum|; SmoothGrad and KernelSHAP replay Captum's own noise and coalitions. Captum fits KernelSHAP in float32, which limits that row to about 1e-3.")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try AttributionBenchmark.write(result, repeats: repeats, to: "\(out)/attribution.json")
    }
}

/// Prints rows as columns padded to their widest cell.
func printTable(_ rows: [[String]]) {
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
    for row in rows {
        print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}

struct BenchMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Time every explanation metric on the MNIST CNN (Saliency and Integrated Gradients maps, 32 digits)."
    )

    @Option(parsing: .unconditional, help: "Timed runs per metric (median reported), after one warm-up.") var repeats = 3
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        print("Explanation metric cost (\(MachineDescription.current.summary), 32 digits, median of \(repeats) runs; attributions precomputed\n except where the metric recomputes them)\n")
        let rows = try showingProgress { try MetricBenchmark.run(repeats: repeats, seed: common.seed) }
        printTable([["metric", "method", "seconds", "examples/s"]] + rows.map { [$0.metric, $0.method, String(format: "%.3f", $0.seconds), String(format: "%.1f", 32 / $0.seconds)] })
    }
}

struct BenchTransparent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transparent",
        abstract: "Time CART fits (depth 3 and 10, 4,000 × 784 MNIST pixels) and k-NN (1,000 queries, k = 5) against scikit-learn.",
        discussion: "scikit-learn runs in the same command through bench/sklearn_bench.py (see `scripts/bench.sh`)."
    )

    @Option(help: "The peer script.") var script = "bench/sklearn_bench.py"
    @Option(parsing: .unconditional, help: "Timed runs per task (the median is reported), after one warm-up.") var repeats = 3
    @OptionGroup var peerOptions: PeerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        try common.apply()
        let benchmark = TransparentBenchmark(repeats: repeats, peer: peerOptions.peer(script: script))
        let result = try showingProgress { try benchmark.run() }
        print("\nTransparent models (\(result.machine.summary); median of \(repeats) runs after a warm-up)\n")
        let rows = result.rows.map { row in
            [row.task, String(format: "%.3f", row.glassboxSeconds), row.sklearnSeconds.map { String(format: "%.3f", $0) } ?? "-",
             row.sklearnSeconds.map { String(format: "%.2fx", $0 / row.glassboxSeconds) } ?? "-",
             row.agreement.map { String(format: "%.1f%%", 100 * $0) } ?? "-"]
        }
        printTable([["task", "Glassbox s", "scikit-learn s", "speed-up", "same test predictions"]] + rows)
        print("\n\(result.peerNote) Trees: fit time; k-NN: prediction time for the 1,000 test digits. Tied splits may be")
        print("broken differently (see DecisionTree.fit), which moves a few predictions of the deeper trees.")
    }
}

struct BenchText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Time MiniLM sentence embeddings against transformers and BiLSTM-attention training against a PyTorch loop.",
        discussion: "PyTorch runs in the same command through bench/text_bench.py (see `scripts/bench.sh`). The MiniLM row needs the model's files (--minilm, $GLASSBOX_MINILM or the cache); it is never downloaded here."
    )

    @Option(help: "The peer script.") var script = "bench/text_bench.py"
    @Option(help: "all-MiniLM-L6-v2's folder.") var minilm: String?
    @Option(parsing: .unconditional, help: "Timed runs per task (the median is reported), after one warm-up.") var repeats = 3
    @OptionGroup var peerOptions: PeerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        try common.apply()
        let benchmark = TextBenchmark(repeats: repeats, minilm: minilm, peer: peerOptions.peer(script: script))
        let result = try showingProgress { try benchmark.run() }
        print("\nText (\(result.machine.summary); median of \(repeats) runs after a warm-up)\n")
        printTable([["task", "Glassbox", "PyTorch", "speed-up"]] + result.rows.map { row in
            [row.task, String(format: "%.0f %@", row.glassbox, row.unit), row.pytorch.map { String(format: "%.0f %@", $0, row.unit) } ?? "-",
             row.pytorch.map { String(format: "%.2fx", row.glassbox / $0) } ?? "-"]
        })
        print("\n\(result.peerNote)")
    }
}

struct BenchSuperposition: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "superposition",
        abstract: "Time the toy-model sparsity sweep against the same batched model in PyTorch.",
        discussion: "PyTorch runs in the same command through bench/superposition_bench.py (see `scripts/bench.sh`). Targets: the sweep in under a minute, and at least 1.2x PyTorch's speed."
    )

    @Option(help: "The peer script.") var script = "bench/superposition_bench.py"
    @Option(help: "Training steps of the sweep.") var steps = 10_000
    @Option(parsing: .unconditional, help: "Timed runs per side (the median is reported), after a 200-step warm-up.") var repeats = 1
    @OptionGroup var peerOptions: PeerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if repeats < 1 || steps < 1 { throw ValidationError("--repeats and --steps must be at least 1") }
    }

    func run() throws {
        try common.apply()
        var sweep = SparsitySweep()
        sweep.steps = steps
        let benchmark = SuperpositionBenchmark(sweep: sweep, repeats: repeats, peer: peerOptions.peer(script: script))
        let result = try showingProgress { try benchmark.run() }
        let instances = 2 * sweep.sparsities.count
        print("\nToy models of superposition (\(result.machine.summary); median of \(repeats) run(s) after a warm-up)\n")
        printTable([["task", "Glassbox", "PyTorch", "speed-up", "target"],
                    ["\(instances) toy models (n = \(sweep.features), m = \(sweep.hidden)), \(steps) steps of \(sweep.batchSize)",
                     String(format: "%.1f s", result.glassboxSeconds), result.pytorchSeconds.map { String(format: "%.1f s", $0) } ?? "-",
                     result.pytorchSeconds.map { String(format: "%.2fx", $0 / result.glassboxSeconds) } ?? "-",
                     String(format: "< 60 s: %@; >= 1.2x: %@", result.glassboxSeconds < 60 ? "met" : "not met",
                            result.pytorchSeconds.map { $0 / result.glassboxSeconds >= 1.2 ? "met" : "not met" } ?? "-")]])
        print("\n\(result.peerNote)")
    }
}

struct BenchGeometry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geometry",
        abstract: "Time per-input Jacobians (the demo CNN's input to its 128-wide hidden layer, 256 digits) against torch.autograd.functional.jacobian.",
        discussion: "PyTorch runs in the same command through bench/geometry_bench.py (see `scripts/bench.sh`), with vectorize=False and True; the faster is the reference. Target: at least 1.5x."
    )

    @Option(help: "The peer script.") var script = "bench/geometry_bench.py"
    @Option(parsing: .unconditional, help: "Timed runs per side (the median is reported), after a warm-up.") var repeats = 3
    @OptionGroup var peerOptions: PeerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        try common.apply()
        let benchmark = GeometryBenchmark(repeats: repeats, seed: common.seed, peer: peerOptions.peer(script: script))
        let result = try showingProgress { try benchmark.run() }
        print("\nJacobians between hook points (\(result.machine.summary); median of \(repeats) run(s) after a warm-up)\n")
        let peer = result.fasterPeer
        printTable([["task", "Glassbox", "PyTorch", "speed-up", "agreement", "target"],
                    ["MNIST CNN input (784) → hidden \"9\" (128), \(result.inputs) inputs",
                     String(format: "%.2f s", result.glassboxSeconds),
                     peer.map { String(format: "%.2f s (%@)", $0.seconds, $0.mode == "loop" ? "vectorize=False" : "vectorize=True") } ?? "-",
                     peer.map { String(format: "%.2fx", $0.seconds / result.glassboxSeconds) } ?? "-",
                     result.agreement.map { String(format: "%.1e", $0) } ?? "-",
                     peer.map { $0.seconds / result.glassboxSeconds >= 1.5 ? ">= 1.5x: met" : ">= 1.5x: not met" } ?? "-"]])
        for (mode, seconds) in result.pytorchSeconds.sorted(by: { $0.key < $1.key }) {
            print(String(format: "PyTorch %@: %.2f s", mode == "loop" ? "vectorize=False" : "vectorize=True", seconds))
        }
        print(result.peerNote)
    }
}

struct BenchSAE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae",
        abstract: "Time sparse-autoencoder training (×8 on 512 inputs, batches of 4,096) and activation collection from a one-layer language model against plain PyTorch loops.",
        discussion: paragraphs("""
        PyTorch runs in the same command (see `scripts/bench.sh`): bench/sae_bench.py trains the same autoencoder from the same \
        starting weights on the same activations, steps and threads; bench/collect_bench.py collects the same language model's \
        blocks.0.hook_mlp_post activations at every real token of the same texts into safetensors shards, its forward pass \
        stopped after the MLP as Glassbox's is. Target: at least 1.5x PyTorch's activations (tokens) per second.
        """)
    )

    @Option(help: "The peer script for training.") var script = "bench/sae_bench.py"
    @Option(help: "The peer script for collection.") var collectScript = "bench/collect_bench.py"
    @Option(parsing: .unconditional, help: "Texts of the tweets' train split whose tokens are collected.") var texts = 8000
    @Option(help: "Timed training steps per run.") var steps = 50
    @Option(parsing: .unconditional, help: "Timed runs per side (the median is reported), after a warm-up.") var repeats = 3
    @OptionGroup var peerOptions: PeerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if repeats < 1 || steps < 1 || texts < 1 { throw ValidationError("--repeats, --steps and --texts must be at least 1") }
    }

    func run() throws {
        try common.apply()
        var benchmark = SAEBenchmark(repeats: repeats, seed: common.seed, peer: peerOptions.peer(script: script))
        benchmark.steps = steps
        var collection = CollectionBenchmark(repeats: repeats, seed: common.seed, peer: peerOptions.peer(script: collectScript))
        collection.texts = texts
        let (result, collected) = try showingProgress { (try benchmark.run(), try collection.run()) }
        print("\nSparse autoencoders (\(result.machine.summary); median of \(repeats) run(s) after a warm-up)\n")
        func row(_ task: String, _ ours: Double, _ theirs: Double?, _ unit: String) -> [String] {
            let ratio = theirs.map { ours / $0 }
            return [task, String(format: "%.0f \(unit)", ours), theirs.map { String(format: "%.0f \(unit)", $0) } ?? "-",
                    ratio.map { String(format: "%.2fx", $0) } ?? "-", ratio.map { $0 >= 1.5 ? ">= 1.5x: met" : ">= 1.5x: not met" } ?? "-"]
        }
        printTable([["task", "Glassbox", "PyTorch", "speed-up", "target"],
                    row("training ×\(benchmark.expansion) on \(benchmark.inputs) inputs, batch \(benchmark.batchSize), \(steps) steps (mean L0 \(String(format: "%.0f", result.meanL0)))",
                        result.activationsPerSecond, result.pytorchActivationsPerSecond, "act/s"),
                    row("collecting \(collection.hookPoint) of a 1-layer LM, \(collected.tokens) tokens", collected.tokensPerSecond, collected.pytorchTokensPerSecond, "tok/s")])
        print("\nTraining: \(result.peerNote)\nCollection: \(collected.peerNote)")
    }
}

struct BenchAttack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Time PGD (L∞, 40 steps, random start) on the demo CNN (256 digits) and a ResNet-18 (4 images of 224×224) against torchattacks.",
        discussion: "torchattacks runs in the same command through bench/attack_bench.py (see `scripts/bench.sh`): same weights, inputs, labels, ε, step and threads. The sides alternate, one timed run each per round (torchattacks in a fresh process after its own warm-up), so a busy spell on a shared machine falls on both. Agreement: the share of values within 1e-6 of torchattacks' examples when Glassbox replays its random start. Target: at least 1.5x torchattacks' inputs per second."
    )

    @Option(help: "The peer script.") var script = "bench/attack_bench.py"
    @Option(parsing: .unconditional, help: "Rounds, each one timed run per side (the median is reported), after a warm-up.") var repeats = 3
    @Flag(help: "The MNIST CNN only (leaves out the ResNet-18).") var quick = false
    @OptionGroup var peerOptions: PeerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        try common.apply()
        let models = quick ? [AttackBenchmark.allModels[0]] : AttackBenchmark.allModels
        let benchmark = AttackBenchmark(models: models, repeats: repeats, seed: common.seed, peer: peerOptions.peer(script: script))
        let result = try showingProgress { try benchmark.run() }
        print("\nPGD, L∞, \(AttackBenchmark.steps) steps (\(result.machine.summary); median of \(repeats) alternating round(s) after a warm-up)\n")
        var table = [["model", "inputs", "Glassbox", "torchattacks", "inputs/s", "speed-up", "agreement", "target"]]
        for row in result.rows {
            table.append([row.model, "\(row.inputs)", String(format: "%.2f s", row.glassboxSeconds),
                          row.torchattacksSeconds.map { String(format: "%.2f s", $0) } ?? "-",
                          String(format: "%.1f", Double(row.inputs) / row.glassboxSeconds),
                          row.speedUp.map { String(format: "%.2fx", $0) } ?? "-",
                          row.agreement.map { String(format: "%.2f%%", 100 * $0) } ?? "-",
                          row.speedUp.map { $0 >= 1.5 ? ">= 1.5x: met" : ">= 1.5x: not met" } ?? "-"])
        }
        printTable(table)
        print(result.peerNote)
    }
}

struct BenchVisualize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visualize",
        abstract: "Time feature visualisation (16 channels of the demo CNN, Fourier parametrisation, jitter, rescaling and rotation, 128 steps) against the same loop in plain PyTorch.",
        discussion: "PyTorch runs in the same command through bench/visualize_bench.py (see `scripts/bench.sh`): same weights, starting spectrum, bases, objective and threads. Agreement: the largest difference of the images after 8 steps without transforms. Target: at least 1.2x PyTorch's steps per second."
    )

    @Option(help: "The peer script.") var script = "bench/visualize_bench.py"
    @Option(parsing: .unconditional, help: "Timed runs per side (the median is reported), after a warm-up.") var repeats = 3
    @OptionGroup var peerOptions: PeerOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        try common.apply()
        let benchmark = VisualizationBenchmark(repeats: repeats, seed: common.seed, peer: peerOptions.peer(script: script))
        let result = try showingProgress { try benchmark.run() }
        print("\nFeature visualisation (\(result.machine.summary); median of \(repeats) run(s) after a warm-up)\n")
        printTable([["task", "Glassbox", "PyTorch", "steps/s", "speed-up", "agreement", "target"],
                    ["\(result.objectives) channels of the demo CNN, \(result.steps) steps", String(format: "%.2f s", result.glassboxSeconds),
                     result.pytorchSeconds.map { String(format: "%.2f s", $0) } ?? "-", String(format: "%.0f", Double(result.steps) / result.glassboxSeconds),
                     result.speedUp.map { String(format: "%.2fx", $0) } ?? "-", result.agreement.map { String(format: "%.1e", $0) } ?? "-",
                     result.speedUp.map { $0 >= 1.2 ? ">= 1.2x: met" : ">= 1.2x: not met" } ?? "-"]])
        print(result.peerNote)
    }
}
