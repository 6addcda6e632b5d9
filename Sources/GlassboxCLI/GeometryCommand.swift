import ArgumentParser
import Datasets
import Foundation
import Geometry
import Runs
import Torch

struct GeometryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geometry",
        abstract: "The geometry of layers: Jacobians between two hook points, their spectra, effective ranks and shared directions.",
        discussion: paragraphs("""
        For every input, the Jacobian of the activation at --to with respect to the one at --from ("input" for the model's input),
        by batched reverse mode. Writes geometry.json and geometry.html: the singular spectrum (median and 10th/90th percentiles),
        entropy rank, participation ratio and threshold rank, principal angles between inputs' top-k subspaces, and — when --to
        is read by a linear layer — the invariance check: a random orthogonal and a random invertible change of basis at --to,
        undone by that layer, leave the function and the crossing Jacobians unchanged while per-neuron measures move.
        --chain adds consecutive pairs (for the demo CNN: input,2,5,9,10); --through-training N trains the demo CNN from scratch
        and measures the pair after every epoch. Inputs: the bundled MNIST test digits for MNIST-shaped models, or --input FILE.
        Hook points of the demo CNN: 0 … 10 (see `glassbox attribute --help`). A TorchScript model has none: --from input --to output.
        A language model from `glassbox lm train`: its last MLP sublayer token by token, from "input" (the residual stream at
        hook_resid_mid) to blocks.L.hook_mlp_pre, blocks.L.hook_mlp_post (the neurons, with the invariance check) or "output"
        (hook_resid_post), on the validation tweets' token states.
        """)
    )

    @Option(help: "A Glassbox model file (see `glassbox train`).") var model: String
    @Option(help: "Input side: a hook point, or \"input\" for the model's input.") var from = LayerJacobian.modelInput
    @Option(help: "Output side: a hook point, or \"output\" for the model's output (the only choices, with --from input, for a TorchScript model).") var to: String
    @Option(help: "Inputs: .npy/.png/.safetensors (default: the bundled MNIST test digits, for MNIST-shaped models).") var input: String?
    @Option(help: "How many inputs (fewer when their Jacobians would not fit in about 1 GB).") var inputs = 256
    @Option(help: "k of the top-k singular subspaces compared between inputs.") var topK = 10
    @Option(help: "Threshold rank: singular values above this fraction of the largest.") var threshold = 1e-3
    @Option(help: "Hook points whose consecutive pairs are studied too (comma-separated, e.g. input,2,5,9,10).") var chain: String?
    @Flag(help: "Skip the change-of-basis invariance check.") var noInvariance = false
    @Option(help: "Train the demo CNN from scratch for this many epochs and measure the pair after each (0: skip).") var throughTraining = 0
    @Option(help: "Output folder.") var out = "runs/geometry"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard inputs >= 2 else { throw ValidationError("--inputs must be at least 2 (subspaces are compared between inputs)") }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard threshold > 0, threshold < 1 else { throw ValidationError("--threshold must be in (0, 1)") }
        guard (0...50).contains(throughTraining) else { throw ValidationError("--through-training takes 0 to 50 epochs") }
        if let chain, commaSeparated(chain).count < 2 { throw ValidationError("--chain needs at least two comma-separated hook points, got '\(chain)'") }
    }

    func run() throws {
        try common.apply()
        var settings = GeometryRun.Settings()
        (settings.from, settings.to, settings.inputs, settings.topK, settings.relativeThreshold) = (from, to, inputs, topK, threshold)
        (settings.chain, settings.invariance, settings.trainingEpochs) = (chain.map(commaSeparated) ?? [], !noInvariance, throughTraining)
        if LanguageModelFile.isLanguageModel(model) {
            guard input == nil, throughTraining == 0 else { throw ValidationError("a language model's inputs are its tokens' states; --input and --through-training do not apply") }
            let record = try showingProgress { try GeometryRun.languageModel(model, settings: settings, seed: common.seed, out: out) }
            for line in GeometryRun.summary(record) { print(line) }
            print(String(format: "%.1f s; page: %@/geometry.html", record.seconds, out))
            return
        }
        let loaded = try ModelFile.load(model)
        let batch: Tensor
        if let input {
            batch = try loaded.inputs(from: input).batch
        } else if loaded.inputShape == MNIST.imageShape {
            let test = try MNIST.bundled().test.images
            batch = try test.slice(dim: 0, start: 0, end: min(inputs, test.shape[0]))
        } else {
            throw ValidationError("this model does not take MNIST digits; pass --input FILE with at least 2 inputs")
        }
        let record = try showingProgress {
            try GeometryRun.run(loaded.model, named: (model as NSString).lastPathComponent, isDemoCNN: loaded.architecture == ModelFile.mnistCNN,
                                inputs: batch, settings: settings, seed: common.seed, out: out)
        }
        for line in GeometryRun.summary(record) { print(line) }
        print(String(format: "%.1f s; page: %@/geometry.html", record.seconds, out))
    }
}
