import ArgumentParser
import Foundation
import Runs

struct SoLUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solu",
        abstract: "SoLU vs GELU (Elhage et al. 2022): two tweet language models, their losses and how monosemantic their MLP neurons are.",
        discussion: paragraphs("""
        Trains the one-layer language model twice with the same settings and seed, with a GELU MLP and with SoLU + LayerNorm,
        into --out/gelu and --out/solu (--reuse reloads them instead), then tests every MLP neuron: the share of its top
        activations on the validation texts that fall on one token (monosemantic at 0.8 or more) and how well its mean
        activation per token predicts its activation on the test texts. For SoLU also before its LayerNorm, and how many
        of a neuron's top examples the LayerNorm keeps. Writes solu.json and solu.html. The defaults train for about
        30 minutes on 2 cores (two models, 2 epochs each, 6–8 minutes an epoch).
        """)
    )

    @Option(parsing: .unconditional, help: "Training epochs of each model.") var epochs = 2
    @Option(parsing: .unconditional, help: "Residual width (4 heads; MLP 4× wider).") var width = LanguageModelOptions().width
    @Option(parsing: .unconditional, help: "Mini-batch size.") var batchSize = LanguageModelOptions().batchSize
    @Option(parsing: .unconditional, help: "A neuron's top activations that the token test reads.") var topK = 20
    @Option(parsing: .unconditional, help: "Use only the first N texts of each split (a quick run).") var limit: Int?
    @Flag(help: "Reuse the models an earlier run left in --out instead of training.") var reuse = false
    @Option(help: "Output folder.") var out = "runs/solu"
    @OptionGroup var common: CommonOptions

    var training: LanguageModelOptions {
        var o = LanguageModelOptions()
        (o.epochs, o.width, o.batchSize, o.limit) = (epochs, width, batchSize, limit)
        return o
    }

    func validate() throws {
        try asUsageError(training.validate)
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        try common.apply()
        let record = try showingProgress { try SoLURun.run(training: training, reuse: reuse, topK: topK, seed: common.seed, out: out) }
        for lines in SoLURun.summary(record) { print(lines) }
        print(String(format: "%.0f s; page: %@/solu.html", record.seconds, out))
    }
}
