import ArgumentParser
import Foundation
import Runs
import Torch

struct Reproduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate one paper's headline result on our data, with the published figure and a verdict per claim.",
        discussion: "Writes index.html (claims, published and ours, verdicts), result.json and the run's own pages to --out. `glassbox reproduce --list` names the reproductions and their cost."
    )

    @Flag(help: "List the reproductions and what each costs, then exit.") var list = false
    @Flag(help: "Print the README's table of claims from the result.json files under runs/reproduce (or --out), then exit.") var table = false
    @Argument(help: "The reproduction (see --list).") var name: String?
    @Flag(help: "A smaller run (seconds to a minute): checks the pipeline, not the claims.") var quick = false
    @Option(help: "A trained demo CNN to reuse (e.g. runs/demo/model.safetensors) instead of training one.") var model: String?
    @Option(help: "Output folder (default runs/reproduce/NAME).") var out: String?
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if list || table { return }
        guard let name else { throw ValidationError("name a reproduction; `glassbox reproduce --list` names them") }
        try asUsageError { _ = try ReproductionCatalog.entry(named: name) }
    }

    func run() throws {
        if list {
            for entry in ReproductionCatalog.all {
                print("\(entry.name.padding(toLength: 16, withPad: " ", startingAt: 0))\(entry.title)\n\(String(repeating: " ", count: 16))\(entry.paper); \(entry.cost) (--quick: \(entry.quickCost))")
            }
            return
        }
        if table { return print(try ReproductionReport.markdownTable(root: out ?? "runs/reproduce")) }
        try common.apply()
        let entry = try ReproductionCatalog.entry(named: name!)
        let folder = out ?? "runs/reproduce/\(entry.name)"
        try OutputFolder.prepare(folder)
        print("\(entry.title): \(quick ? entry.quickCost : entry.cost)")
        let settings = ReproductionSettings(out: folder, seed: common.seed, quick: quick, mnist: data.source, cnn: model)
        let report = try showingProgress { try entry.run(settings) }
        report.lines.forEach { print($0) }
        print(String(format: "%.0f s; report: %@", report.seconds, (folder as NSString).appendingPathComponent("index.html")))
    }
}
