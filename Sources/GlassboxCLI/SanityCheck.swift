import ArgumentParser
import Attribution
import Foundation
import Runs
import Torch

struct SanityCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sanity-check",
        abstract: "Model-randomisation sanity checks (Adebayo et al. 2018) with a report page.",
        discussion: paragraphs("""
        Randomises the model's layers from the output down (cascading) and one at a time (independent), recomputes each
        method's maps for the same test digits, and writes sanity-check.html: the cascading grid (rows = methods, columns =
        layers randomised), similarity-versus-layer curves (Spearman, |Spearman|, SSIM, HOG, Pearson), and the Sobel and Canny
        edge detectors compared with every method. With --label-randomization it also trains a copy of the architecture on
        permuted training labels and compares its maps with the trained model's (data randomisation test).
        """)
    )

    @Option(help: "A Glassbox model.safetensors (native: layers are re-initialised).") var model: String
    @Option(help: "Comma-separated methods.") var methods = "saliency,input-x-gradient,integrated-gradients,smoothgrad,guided-backprop,grad-cam"
    @Option(parsing: .unconditional, help: "Test digits to explain.") var limit = 4
    @Option(help: ArgumentHelp(MethodOption.layer.help)) var layer: String?
    @Option(help: "Output folder.") var out = "runs/sanity-check"
    @Flag(help: "Also retrain on permuted labels and compare maps (takes a few minutes).") var labelRandomization = false
    @Option(parsing: .unconditional, help: "Epochs for the label-randomised model (it must memorise noise: 80 fit 96% of the bundled set's shuffled labels, 40 only 78%; the paper asks for >95%).") var labelEpochs = 80
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    var names: [String] { methods.split(separator: ",").map(String.init) }

    func validate() throws {
        if !(1...64).contains(limit) { throw ValidationError("--limit must be between 1 and 64") }
        for name in names where !MethodCatalog.scorableNames.contains(name) {
            throw ValidationError("unknown method '\(name)'; use \(MethodCatalog.scorableNames.joined(separator: ", "))")
        }
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        let test = try data.source.loadTest().test
        let x = try test.images.slice(dim: 0, start: 0, end: min(limit, test.count))
        var check = SanityCheckRun(methods: names, layer: layer, seed: common.seed, out: out)
        if labelRandomization { check.labelRandomization = (try data.source.load().train, labelEpochs) }
        try showingProgress { try check.run(loaded.model, inputs: x) }
        print("layers, output first: \(check.cascading.first.map { $0.steps.last!.randomizedLayers.joined(separator: ", ") } ?? "")")
        print("mean Spearman rank correlation with the original maps as layers are randomised (cascading):")
        for (name, steps) in check.cascading {
            let values = try steps.map { try $0.similarity["spearman"]!.mean().item() }
            print("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) " + values.map { String(format: "%6.3f", $0) }.joined(separator: " "))
        }
        print("report: \(out)/sanity-check.html")
    }
}
