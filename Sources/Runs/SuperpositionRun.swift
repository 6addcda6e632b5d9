import Foundation
import NN
import Report
import Superposition
import Torch

/// `glassbox superposition`: Elhage et al.'s (2022) toy models regenerated; superposition.json holds
/// the numbers and superposition.html the figures beside the published results.
public enum SuperpositionRun {
    public struct Record: Codable, Sendable {
        public var features: Int, hidden: Int, steps: Int, batchSize: Int, seed: UInt64
        public var sweep: [ToyModelSummary]
        /// The n = 2, m = 1 phase diagram, when it was run.
        public var phaseDiagram: [PhaseDiagram.Cell]?
        /// Feature dimensionality against 1/(1 − S), when it was run.
        public var dimensionality: [DimensionalityStudy.Point]?
        /// With and without a ReLU on the hidden layer, when it was run.
        public var privilegedBasis: [PrivilegedBasis.Result]?
        public var seconds: Double
        public var machine: String
    }

    public static func run(_ sweep: SparsitySweep, phaseDiagram: PhaseDiagram?, dimensionality: DimensionalityStudy?,
                           privilegedBasis: PrivilegedBasis?, seed: UInt64, out: String) throws -> Record {
        try OutputFolder.prepare(out)
        let started = Date()
        let summaries = try sweep.run(seed: seed)
        let cells = try phaseDiagram?.run(seed: seed)
        let points = try dimensionality?.run(seed: seed)
        let basis = try privilegedBasis?.run(seed: seed)
        let record = Record(features: sweep.features, hidden: sweep.hidden, steps: sweep.steps, batchSize: sweep.batchSize, seed: seed,
                            sweep: summaries, phaseDiagram: cells, dimensionality: points, privilegedBasis: basis, seconds: Date().timeIntervalSince(started), machine: MachineDescription.current.summary)
        try JSONFile.write(record, to: "\(out)/superposition.json")
        try page(record).write(to: "\(out)/superposition.html")
        return record
    }

    /// The published claims, each checked on ours.
    public static func checks(_ record: Record) -> [(claim: String, ours: String, met: Bool)] {
        sweepChecks(record) + (record.phaseDiagram.map(phaseChecks) ?? []) + (record.dimensionality.map(dimensionalityChecks) ?? [])
            + (record.privilegedBasis.map(privilegedBasisChecks) ?? [])
    }

    static func privilegedBasisChecks(_ results: [PrivilegedBasis.Result]) -> [(claim: String, ours: String, met: Bool)] {
        let pairs = results.filter { !$0.reluHidden }.compactMap { plain in results.first { $0.reluHidden && $0.sparsity == plain.sparsity }.map { (plain, $0) } }
        let aligned = pairs.filter { $0.1.neuronAlignment > $0.0.neuronAlignment }.count
        let tailed = pairs.filter { $0.1.kurtosisNeurons > $0.1.kurtosisRotated }.count
        let ratio = { (r: PrivilegedBasis.Result) in r.kurtosisNeurons / Swift.max(r.kurtosisRotated, 1e-12) }
        let contrast = pairs.filter { ratio($0.1) > ratio($0.0) }.count
        return [
            ("Privileged basis: with a ReLU on the hidden layer, features line up with neurons more than without",
             pairs.map { String(format: "S = %g: %.2f vs %.2f", $0.0.sparsity, $0.1.neuronAlignment, $0.0.neuronAlignment) }.joined(separator: "; "),
             !pairs.isEmpty && aligned == pairs.count),
            ("… and its activations are heavier-tailed along the neurons than along rotated axes",
             pairs.map { String(format: "S = %g: kurtosis %.1f vs %.1f", $0.1.sparsity, $0.1.kurtosisNeurons, $0.1.kurtosisRotated) }.joined(separator: "; "),
             !pairs.isEmpty && tailed == pairs.count),
            ("… while without it the neurons are no special axes: the same ratio is larger with the hidden ReLU than without",
             pairs.map { String(format: "S = %g: %.2f vs %.2f", $0.0.sparsity, ratio($0.1), ratio($0.0)) }.joined(separator: "; "),
             !pairs.isEmpty && contrast == pairs.count),
        ]
    }

    /// Represented features (Dᵢ > 0.05) of a point all within `tolerance` of `fraction`.
    static func sticks(_ point: DimensionalityStudy.Point, at fraction: Double, tolerance: Double) -> Bool {
        let represented = point.dimensionality.filter { $0 > 0.05 }
        return !represented.isEmpty && represented.allSatisfy { abs($0 - fraction) <= tolerance }
    }

    static func dimensionalityChecks(_ points: [DimensionalityStudy.Point]) -> [(claim: String, ours: String, met: Bool)] {
        let half = points.filter { sticks($0, at: 0.5, tolerance: 0.02) }.map(\.inverseDensity)
        let others = DimensionalityStudy.stickyFractions.filter { $0 != 0.5 }.compactMap { fraction -> String? in
            let at = points.filter { sticks($0, at: fraction, tolerance: 0.03) }
            return at.isEmpty ? nil : "\(fractionText(fraction)) at 1/(1 − S) = \(at.map { String(format: "%.1f", $0.inverseDensity) }.joined(separator: ", "))"
        }
        return [
            ("Feature dimensionality sticks at 1/2 (antipodal pairs) over a range of sparsity",
             half.isEmpty ? "never all at 1/2 ± 0.02" : "every represented feature at 1/2 ± 0.02 for 1/(1 − S) = \(half.map { String(format: "%.1f", $0) }.joined(separator: ", "))",
             half.count >= 2),
            ("… and at other fractions of regular arrangements (3/4, 2/3, 2/5, 1/3, …)",
             others.isEmpty ? "none within 0.03" : others.joined(separator: "; "), !others.isEmpty),
        ]
    }

    static func fractionText(_ value: Double) -> String {
        for denominator in 1...9 {
            let numerator = (value * Double(denominator)).rounded()
            if abs(numerator / Double(denominator) - value) < 1e-9 { return denominator == 1 ? "\(Int(numerator))" : "\(Int(numerator))/\(denominator)" }
        }
        return String(format: "%.3f", value)
    }

    static func phaseChecks(_ cells: [PhaseDiagram.Cell]) -> [(claim: String, ours: String, met: Bool)] {
        let densest = cells.map(\.density).max() ?? 1, sparsest = cells.map(\.density).min() ?? 1
        let dense = cells.filter { $0.density == densest }, sparse = cells.filter { $0.density == sparsest }
        let denseRight = dense.filter { $0.relativeImportance < 0.9 ? $0.phase == .notRepresented : $0.relativeImportance > 1.1 ? $0.phase == .dedicated : true }
        let sharedDense = dense.filter { $0.phase == .superposition }.count, sharedSparse = sparse.filter { $0.phase == .superposition }.count
        let antipodal = cells.filter { $0.phase == .superposition }.allSatisfy { $0.weight[0] * $0.weight[1] < 0 }
        return [
            ("Phase diagram, dense features: the more important feature takes the dimension, the other is dropped",
             "\(denseRight.count) of \(dense.count) cells at 1 − S = \(String(format: "%g", densest))", denseRight.count == dense.count),
            ("Phase diagram: superposition appears with sparsity, around equal importance, and widens as features get sparser",
             "superposition in \(sharedDense) of \(dense.count) cells at 1 − S = \(String(format: "%g", densest)), \(sharedSparse) of \(sparse.count) at \(String(format: "%g", sparsest))",
             sharedSparse > sharedDense && sharedSparse >= 1),
            ("Phase diagram: features in superposition sit antipodally (W = (w, −w'))", antipodal ? "all antipodal" : "some on the same side", antipodal),
        ]
    }

    static func sweepChecks(_ record: Record) -> [(claim: String, ours: String, met: Bool)] {
        let linear = record.sweep.filter { !$0.reluOutput }, relu = record.sweep.filter(\.reluOutput)
        let linearShares = linear.map(\.inSuperposition).max() ?? 0
        let linearKept = linear.map(\.represented)
        let reluShared = relu.map(\.inSuperposition)
        return [
            ("Linear model: the \(record.hidden) most important features get orthogonal dimensions, the rest are dropped, at every sparsity",
             "represented \(linearKept.map(String.init).joined(separator: ", ")); at most \(linearShares) in superposition",
             linearShares == 0 && linearKept.allSatisfy { $0 <= record.hidden }),
            ("ReLU output, dense features (S = 0): no superposition, like the linear model",
             "\(reluShared.first ?? 0) features in superposition", (reluShared.first ?? 1) == 0),
            ("ReLU output: superposition appears and grows as sparsity rises",
             "features in superposition: \(reluShared.map(String.init).joined(separator: ", "))",
             (reluShared.last ?? 0) > record.hidden && (reluShared.last ?? 0) >= (reluShared.dropFirst().first ?? 0)),
        ]
    }

    static func page(_ record: Record) -> HTMLPage {
        var page = HTMLPage(title: "Toy models of superposition")
        page.paragraph("Elhage et al. (2022): \(record.features) features, importance 0.7ⁱ, squeezed into \(record.hidden) dimensions, x̂ = ReLU(WᵀWx + b) or x̂ = WᵀWx + b; each feature present with probability 1 − S, then uniform on [0, 1]. \(record.sweep.count) models trained at once, \(record.steps) steps of \(record.batchSize), seed \(record.seed), \(String(format: "%.1f", record.seconds)) s on \(record.machine).")
        page.heading("Published results beside ours")
        page.table(header: ["published (qualitative)", "ours", ""], rows: checks(record).map { [$0.claim, $0.ours, $0.met ? "met" : "differs"] })
        for relu in [false, true] {
            page.heading(relu ? "ReLU output: x̂ = ReLU(WᵀWx + b)" : "Linear model: x̂ = WᵀWx + b")
            page.paragraph("Top: WᵀW (blue negative, red positive) and b (last column). Bottom: ‖Wᵢ‖ per feature, black when the feature has its own dimension, yellow when others share it (Σⱼ≠ᵢ (Ŵᵢ·Wⱼ)² ≥ 1).")
            let models = record.sweep.filter { $0.reluOutput == relu }
            let figures = models.map { model -> String in
                let matrix = MatrixChart(title: String(format: "1 − S = %g", 1 - model.sparsity),
                                         rows: zip(model.gram, model.bias).map { $0 + [Double.nan, $1] }, scale: 1).svg()
                var bars = BarChart(title: String(format: "loss %.4f", model.loss), labels: [], values: model.norms)
                (bars.width, bars.rowHeight) = (190, 9)
                bars.colors = model.superposition.map { superpositionColor($0) }
                return "<div style=\"display:inline-block;vertical-align:top;margin:4px\">\(matrix)<br>\(bars.svg())</div>"
            }
            page.html("<div>\(figures.joined())</div>")
            page.table(header: ["1 − S", "loss", "features represented", "in superposition", "dimensions used (Σ Dᵢ)"], rows: models.map { model in
                [String(format: "%g", 1 - model.sparsity), String(format: "%.5f", model.loss), "\(model.represented)", "\(model.inSuperposition)",
                 String(format: "%.2f", model.dimensionality.reduce(0, +))]
            })
        }
        page.heading("One neuron, several inputs")
        let (three, two) = NeuronCode.seedExample
        page.paragraph("What a polysemantic neuron leaves unknown: the cross-entropy of the best guess of the input from the neuron's activation alone.")
        page.table(header: ["code", "cross-entropy (nats)", "published"], rows: [
            ["one neuron firing alike for three inputs, each (and no input) a quarter of the time", String(format: "%.3f", three), "¾·(−log ⅓) ≈ 0.82"],
            ["one neuron firing alike for two features", String(format: "%.3f", two), "−log ½ ≈ 0.69"],
        ])
        if let points = record.dimensionality {
            page.heading("Feature dimensionality")
            page.paragraph("Equally important features, ReLU output; each dot is one feature's Dᵢ = ‖Wᵢ‖² / Σⱼ (Ŵᵢ·Wⱼ)², the fraction of a dimension it gets, against 1/(1 − S). Dashed: the sticky fractions Elhage et al. report (1, 3/4, 2/3, 1/2, 2/5, 1/3).")
            page.html(dimensionalitySVG(points))
            page.table(header: ["1/(1 − S)", "loss", "features represented", "median Dᵢ", "features per dimension ‖W‖²_F / m"], rows: points.map { point in
                let represented = point.dimensionality.filter { $0 > 0.05 }.sorted()
                return [String(format: "%.1f", point.inverseDensity), String(format: "%.4f", point.loss), "\(represented.count)",
                        represented.isEmpty ? "-" : String(format: "%.3f", represented[represented.count / 2]), String(format: "%.2f", point.featuresPerDimension)]
            })
        }
        if let results = record.privilegedBasis {
            page.heading("Privileged basis")
            page.paragraph("The ReLU-output models of the sweep with and without a ReLU on the hidden layer. Alignment: mean over represented features of the largest |cosine| between the feature's direction and a neuron axis (1: on a neuron). Kurtosis: mean excess kurtosis of the hidden activations along the neurons and along the axes of a random rotation; without the hidden ReLU nothing distinguishes the two.")
            page.table(header: ["hidden layer", "S", "loss", "features represented", "neuron alignment", "kurtosis (neurons)", "kurtosis (rotated)"], rows: results.map { r in
                [r.reluHidden ? "ReLU (privileged)" : "linear", String(format: "%g", r.sparsity), String(format: "%.5f", r.loss), "\(r.represented)",
                 String(format: "%.2f", r.neuronAlignment), String(format: "%.1f", r.kurtosisNeurons), String(format: "%.1f", r.kurtosisRotated)]
            })
        }
        if let cells = record.phaseDiagram {
            page.heading("Phase diagram: 2 features in 1 dimension")
            page.paragraph("ReLU output; feature 0 weighs 1, the extra feature 1 weighs r; both present with probability 1 − S. Each cell keeps the best of several starts. Elhage et al.: dense features → the more important one takes the dimension; sparse features → both share it antipodally, over a band around r = 1 that widens with sparsity.")
            page.html(phaseDiagramSVG(cells))
        }
        return page
    }

    static let phaseColors: [PhaseDiagram.Phase: String] = [.notRepresented: "#9e9e9e", .dedicated: "#1f77b4", .superposition: "#e6c300", .neither: "#ffffff"]

    /// Cells coloured by phase: density across (log), relative importance up (log).
    static func phaseDiagramSVG(_ cells: [PhaseDiagram.Cell]) -> String {
        let densities = Array(Set(cells.map(\.density))).sorted(), importances = Array(Set(cells.map(\.relativeImportance))).sorted()
        let size = 28, left = 60, top = 10
        let width = left + densities.count * size + 250, height = top + importances.count * size + 40
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"11\">"]
        for cell in cells {
            guard let column = densities.firstIndex(of: cell.density), let row = importances.firstIndex(of: cell.relativeImportance) else { continue }
            let y = top + (importances.count - 1 - row) * size
            parts.append("<rect x=\"\(left + column * size)\" y=\"\(y)\" width=\"\(size - 1)\" height=\"\(size - 1)\" fill=\"\(phaseColors[cell.phase]!)\" stroke=\"#ccc\"><title>\(String(format: "r = %.2f, 1 − S = %.3f: %@, W = (%.2f, %.2f)", cell.relativeImportance, cell.density, cell.phase.rawValue, cell.weight[0], cell.weight[1]))</title></rect>")
        }
        for (row, r) in importances.enumerated() where row % 2 == 0 {
            parts.append("<text x=\"\(left - 4)\" y=\"\(top + (importances.count - 1 - row) * size + size / 2 + 4)\" text-anchor=\"end\">\(String(format: "%.2g", r))</text>")
        }
        for (column, d) in densities.enumerated() where column % 2 == 0 {
            parts.append("<text x=\"\(left + column * size + size / 2)\" y=\"\(top + importances.count * size + 14)\" text-anchor=\"middle\">\(String(format: "%.2g", d))</text>")
        }
        parts.append("<text x=\"\(left + densities.count * size / 2)\" y=\"\(height - 4)\" text-anchor=\"middle\">feature density 1 − S</text>")
        parts.append("<text x=\"12\" y=\"\(top + importances.count * size / 2)\" transform=\"rotate(-90 12 \(top + importances.count * size / 2))\" text-anchor=\"middle\">relative importance r</text>")
        for (index, phase) in PhaseDiagram.Phase.allCases.enumerated() {
            let y = top + 10 + index * 18
            parts.append("<rect x=\"\(left + densities.count * size + 16)\" y=\"\(y - 10)\" width=\"12\" height=\"12\" fill=\"\(phaseColors[phase]!)\" stroke=\"#999\"/><text x=\"\(left + densities.count * size + 34)\" y=\"\(y)\">\(phase.rawValue)</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    /// Dᵢ of every feature against 1/(1 − S) on a log axis, with the sticky fractions dashed.
    static func dimensionalitySVG(_ points: [DimensionalityStudy.Point]) -> String {
        let (width, height, left, top, plotWidth, plotHeight) = (620, 320, 50.0, 12.0, 540.0, 270.0)
        let low = Foundation.log(points.map(\.inverseDensity).min() ?? 1), high = Foundation.log(points.map(\.inverseDensity).max() ?? 10)
        func x(_ v: Double) -> Double { left + (Foundation.log(v) - low) / Swift.max(high - low, 1e-9) * plotWidth }
        func y(_ d: Double) -> Double { top + (1 - Swift.min(d, 1.05) / 1.05) * plotHeight }
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"11\">"]
        for fraction in DimensionalityStudy.stickyFractions {
            parts.append(String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>",
                                left, left + plotWidth, y(fraction), y(fraction), left - 4, y(fraction) + 4, fractionText(fraction)))
        }
        for point in points {
            for d in point.dimensionality where d > 0.05 {
                parts.append(String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#1f77b4\" fill-opacity=\"0.5\"/>", x(point.inverseDensity), y(d)))
            }
            parts.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>", x(point.inverseDensity), top + plotHeight + 14, point.inverseDensity))
        }
        parts.append(String(format: "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">1/(1 − S)  (log scale)</text>", left + plotWidth / 2, height - 4))
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    /// Black (0) to yellow (≥ 1), the paper's colouring of superposition.
    static func superpositionColor(_ value: Double) -> String {
        let t = Swift.min(Swift.max(value, 0), 1)
        return String(format: "rgb(%d,%d,0)", Int(t * 230), Int(t * 200))
    }
}
