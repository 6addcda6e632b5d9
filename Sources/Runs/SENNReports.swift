import Concepts
import ExplanationCore
import Foundation
import NN
import Report
import Torch

/// What `senn explain` shows: the predicted class's relevances per input, explain.html and explanations.json.
public enum SENNExplanationReport {
    public struct Record: Codable, Sendable {
        public var input: String
        public var predicted: String
        public var relevances: [[Double]]
        public var concepts: [Double]
    }

    /// Writes the page and the JSON to `out`; returns one summary (the ten largest relevances) per input.
    public static func write(_ file: SENNFile, inputs x: Tensor, names: [String], out: String) throws -> [String] {
        let output = try noGrad { try file.model.explain(x) }
        let predicted = try output.logits.argmax(dim: 1).scalars(as: Int64.self).map(Int.init)
        var records: [Record] = [], lines: [String] = []
        for (row, name) in names.enumerated() {
            let c = predicted[row]
            let theta = try output.relevances[row].to(.float64)
            let relevance = try theta.select(dim: 1, index: c).scalars(as: Double.self)
            var text = ["\(name): predicted \(file.classNames[c])"]
            let order = (0..<file.model.concepts).sorted { abs(relevance[$0]) > abs(relevance[$1]) }.prefix(10)
            for k in order {
                text.append(String(format: "  %@ θ %+.4f", file.conceptNames[k].padding(toLength: 26, withPad: " ", startingAt: 0), relevance[k]))
            }
            lines.append(text.joined(separator: "\n"))
            records.append(Record(input: name, predicted: file.classNames[c],
                                  relevances: try (0..<file.model.concepts).map { try theta[$0].scalars(as: Double.self) },
                                  concepts: try output.concepts[row].to(.float64).scalars(as: Double.self)))
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var page = HTMLPage(title: "SENN explanations")
        page.paragraph("f(x) = Σₖ θ(x)ₖ·h(x)ₖ per class. Left: the input; middle: each concept's relevance θ for the predicted class; right: the concept activations h(x).")
        page.html(try SENNReport.explanations(file, inputs: x, output: output, names: names, folder: out, imageFolder: "explain"))
        try JSONFile.write(records, to: (out as NSString).appendingPathComponent("explanations.json"))
        try page.write(to: (out as NSString).appendingPathComponent("explain.html"))
        return lines
    }
}

/// What `senn stability` measures: θ(x)'s Lipschitz estimates, concept faithfulness, and the
/// sampling estimate next to post-hoc methods on a CNN (Alvarez-Melis & Jaakkola 2018, §4).
public struct SENNStabilityReport: Codable, Sendable {
    public var settings: StabilitySettings
    public var ascentMedianLipschitz: Double
    /// The gradient-ascent estimate with distances in concept space, ‖Δθ‖/‖Δh‖.
    public var conceptAscentMedianLipschitz: Double
    public var boxMedianLipschitz: Double
    /// The exact robustness loss L_θ on the examples.
    public var robustnessLoss: Double
    public var faithfulness: [Double]
    public var contributionFaithfulness: [Double]
    public var sampling: [StabilityRow]

    public init(_ senn: SENN, cnn: Explainable?, inputs x: Tensor, training: Tensor, settings: StabilitySettings) throws {
        self.settings = settings
        ascentMedianLipschitz = SENNAnalysis.median(try SENNAnalysis.ascentLipschitz(senn, inputs: x, settings: settings))
        conceptAscentMedianLipschitz = SENNAnalysis.median(try SENNAnalysis.ascentLipschitz(senn, inputs: x, settings: settings, inConceptSpace: true))
        boxMedianLipschitz = SENNAnalysis.median(try SENNAnalysis.boxLipschitz(senn, inputs: x, training: training, settings: settings))
        robustnessLoss = try senn.robustnessLoss(x).item()
        let concepts = try ConceptFaithfulness.evaluate(senn, inputs: x)
        faithfulness = try concepts.correlation.scalars(as: Double.self)
        contributionFaithfulness = try concepts.contributionCorrelation.scalars(as: Double.self)
        sampling = try SENNAnalysis.compare(senn: senn, cnn: cnn, inputs: x, settings: settings)
    }

    static func meanAndDeviation(_ values: [Double]) -> (mean: Double, deviation: Double) {
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(values.count - 1, 1))
        return (mean, variance.squareRoot())
    }

    /// The lines `senn stability` prints.
    public var summary: [String] {
        let (faithful, faithfulDeviation) = Self.meanAndDeviation(faithfulness)
        let (contribution, contributionDeviation) = Self.meanAndDeviation(contributionFaithfulness)
        return [
            String(format: "median gradient-ascent Lipschitz in concept space (‖Δθ‖/‖Δh‖): %.4g", conceptAscentMedianLipschitz),
            String(format: "median Lipschitz as the authors' code estimates it (%d random points in x ± 0.01·σ per feature): %.4g", settings.samples, boxMedianLipschitz),
            String(format: "robustness loss L_θ (exact) on these examples: %.4g", robustnessLoss),
            String(format: "SENN θ(x): median gradient-ascent Lipschitz %.4g; concept faithfulness with θ %.3f ± %.3f, with θ·h %.3f ± %.3f",
                   ascentMedianLipschitz, faithful, faithfulDeviation, contribution, contributionDeviation),
        ] + sampling.map { row in
            String(format: "  %@ %@ median Lipschitz %.4g, relative %.4g", row.method.padding(toLength: 24, withPad: " ", startingAt: 0),
                   row.model.padding(toLength: 5, withPad: " ", startingAt: 0), row.medianLipschitz, row.medianRelativeLipschitz)
        }
    }

    /// Writes stability.json and stability.html to `out`.
    public func write(to out: String) throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try JSONFile.write(self, to: (out as NSString).appendingPathComponent("stability.json"))
        var page = HTMLPage(title: "SENN stability and faithfulness")
        page.keyValues([("median gradient-ascent Lipschitz of θ(x)", String(format: "%.4g", ascentMedianLipschitz)),
                        ("median Lipschitz, the authors' protocol (x ± 0.01·σ, random points, predicted class)", String(format: "%.4g", boxMedianLipschitz)),
                        ("concept faithfulness: drops vs θ (mean Pearson, the paper's)", String(format: "%.3f", Self.meanAndDeviation(faithfulness).mean)),
                        ("concept faithfulness: drops vs contributions θ·h", String(format: "%.3f", Self.meanAndDeviation(contributionFaithfulness).mean))])
        page.html(SENNReport.stabilityTable(sampling, settings: settings))
        try page.write(to: (out as NSString).appendingPathComponent("stability.html"))
    }
}

/// What `senn prototypes` writes: prototypes.html, the training examples that activate each learnt concept most.
public enum SENNPrototypesPage {
    public static func write(_ file: SENNFile, count: Int, mnist: MNISTSource, to out: String) throws {
        guard file.dataset == .mnist else {
            throw TorchError("this SENN's concepts are its input features (\(file.dataset.rawValue)); prototypes are for learnt concepts — use `glassbox senn explain` to see feature relevances")
        }
        let train = try SENNData.load(file.dataset, mnist: mnist).trainInputs
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var page = HTMLPage(title: "SENN concept prototypes")
        page.html(try SENNReport.prototypes(file.model, images: train, count: count, folder: out, imageFolder: "prototypes"))
        try page.write(to: (out as NSString).appendingPathComponent("prototypes.html"))
    }
}

/// What `senn sweep` writes: sweep.json and sweep.html.
public enum SENNSweepReport {
    /// The rule's choice as a sentence, when the rows have validation numbers.
    public static func choice(_ rows: [SweepRow]) -> String? {
        SENNAnalysis.tuned(rows).map {
            String(format: "Chosen on the validation split: λ %g (the lowest Lipschitz estimate among λ > 0 within 1.5 points of the best validation accuracy). The test columns only report.", $0.robustness)
        }
    }

    public static func write(_ rows: [SweepRow], refits: [SweepRow], data: String, to out: String) throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try JSONFile.write(rows + refits, to: (out as NSString).appendingPathComponent("sweep.json"))
        var page = HTMLPage(title: "SENN: accuracy and stability against the robustness weight λ")
        page.paragraph("Data: \(data). Each λ trains a fresh SENN with the same seed and settings. \(choice(rows) ?? "")")
        page.html(SENNReport.sweepCharts(rows))
        if !refits.isEmpty {
            page.heading("Refit on all training examples")
            page.html(SENNReport.sweepCharts(refits))
        }
        try page.write(to: (out as NSString).appendingPathComponent("sweep.html"))
    }
}
