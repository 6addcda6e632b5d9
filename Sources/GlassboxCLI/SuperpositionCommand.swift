import ArgumentParser
import Foundation
import Runs
import Superposition

struct SuperpositionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "superposition",
        abstract: "Toy models of superposition (Elhage et al. 2022): the sparsity sweep, linear vs ReLU output, regenerated.",
        discussion: paragraphs("""
        Trains n features into m dimensions for every sparsity, linear and ReLU output, all at once, and writes
        superposition.json and superposition.html (WᵀW, b, feature norms coloured by superposition, the published
        results beside ours), the n = 2, m = 1 phase diagram (relative importance × density), the single-neuron
        example, feature dimensionality against 1/(1 − S), and the privileged-basis comparison (a ReLU on the hidden layer
        or not). The SoLU language models are `glassbox solu`; Jacobian spectra between layers, `glassbox geometry`.
        """)
    )

    @Option(help: "Features n.") var features = 20
    @Option(help: "Hidden dimensions m.") var hidden = 5
    @Option(help: "Feature importance decay: feature i weighs decayⁱ in the loss.") var importanceDecay = 0.7
    @Option(help: "Sparsities S (comma-separated, each in [0, 1)).") var sparsities = "0,0.7,0.9,0.97,0.99,0.997,0.999"
    @Option(help: "Training steps of the sweep and the privileged-basis comparison (the dimensionality study runs 6000).") var steps = 10_000
    @Option(help: "Examples per step.") var batchSize = 1024
    @Option(help: "Adam's learning rate for the sweep and the privileged-basis comparison.") var learningRate = 1e-3
    @Option(help: "Phase diagram grid: cells per side (relative importance 0.1 … 10 × density 0.01 … 1, log-spaced).") var phaseGrid = 9
    @Option(help: "Training steps of the phase diagram (default: 5000, at learning rate 5e-3).") var phaseSteps: Int?
    @Flag(help: "Skip the n = 2, m = 1 phase diagram.") var noPhaseDiagram = false
    @Flag(help: "Skip feature dimensionality against 1/(1 − S).") var noDimensionality = false
    @Flag(help: "Skip the privileged-basis comparison (hidden ReLU or not).") var noPrivilegedBasis = false
    @Option(help: "Output folder.") var out = "runs/superposition"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard features >= 2, hidden >= 1, hidden < features else { throw ValidationError("need at least 2 features and 1 ≤ --hidden < --features") }
        guard phaseGrid >= 2, (phaseSteps ?? 1) >= 1 else { throw ValidationError("--phase-grid must be at least 2 and --phase-steps at least 1") }
        guard steps >= 1, batchSize >= 1, learningRate > 0 else { throw ValidationError("--steps, --batch-size and --learning-rate must be positive") }
        _ = try parsedSparsities()
    }

    func parsedSparsities() throws -> [Double] {
        let values = sparsities.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 && $0! < 1 }) else {
            throw ValidationError("--sparsities takes comma-separated numbers in [0, 1), got '\(sparsities)'")
        }
        return values.map { $0! }
    }

    func run() throws {
        try common.apply()
        var sweep = SparsitySweep()
        (sweep.features, sweep.hidden, sweep.importanceDecay, sweep.sparsities) = (features, hidden, importanceDecay, try parsedSparsities())
        (sweep.steps, sweep.batchSize, sweep.learningRate) = (steps, batchSize, learningRate)
        var privileged = PrivilegedBasis()
        (privileged.features, privileged.hidden, privileged.importanceDecay) = (features, hidden, importanceDecay)
        (privileged.steps, privileged.batchSize, privileged.learningRate) = (steps, batchSize, learningRate)
        var diagram = PhaseDiagram()
        (diagram.importances, diagram.densities) = (PhaseDiagram.logSpaced(from: 0.1, to: 10, count: phaseGrid), PhaseDiagram.logSpaced(from: 0.01, to: 1, count: phaseGrid))
        diagram.batchSize = batchSize
        if let phaseSteps { diagram.steps = phaseSteps }
        let record = try showingProgress { try SuperpositionRun.run(sweep, phaseDiagram: noPhaseDiagram ? nil : diagram,
                                                                        dimensionality: noDimensionality ? nil : DimensionalityStudy(),
                                                                        privilegedBasis: noPrivilegedBasis ? nil : privileged, seed: common.seed, out: out) }
        for model in record.sweep {
            print(String(format: "%@ 1 − S = %-6g loss %.5f  represented %2d  in superposition %2d", model.reluOutput ? "ReLU  " : "linear",
                         1 - model.sparsity, model.loss, model.represented, model.inSuperposition))
        }
        for check in SuperpositionRun.checks(record) { print("\(check.met ? "met" : "differs"): \(check.claim) — ours: \(check.ours)") }
        print(String(format: "%.1f s; page: %@/superposition.html", record.seconds, out))
    }
}
