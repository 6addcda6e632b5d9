import Foundation
import Geometry
import Report

/// geometry.html: the figures and tables of a `GeometryRun.Record`.
enum GeometryPage {
    static func page(_ record: GeometryRun.Record) -> HTMLPage {
        let pair = record.pair
        var page = HTMLPage(title: "Geometry of layers: \(pair.from) → \(pair.to)")
        page.paragraph("Per input x, the Jacobian J(x) = ∂\(pair.to)/∂\(pair.from) (\(pair.outputDimension) × \(pair.inputDimension)) of \(escapeHTML(record.model)), for \(pair.inputs) inputs; its singular values say how many input directions the layer pair passes on, and how strongly. Seed \(record.seed), \(String(format: "%.1f", record.seconds)) s on \(record.machine).")
        page.heading("Singular spectrum")
        page.paragraph("σᵢ/σ₁ per index, log₁₀: the median over inputs and the 10th/90th percentiles. A flat start and a cliff is a low-rank map; a slow decay passes many directions.")
        page.html(spectrumChart(pair.normalizedSpectrum, title: "\(pair.from) → \(pair.to)").svg())
        page.heading("Effective ranks")
        page.paragraph(String(format: "Entropy rank: exp of the entropy of σ/Σσ (Roy & Vetterli 2007). Participation ratio: (Σσ²)²/Σσ⁴. Threshold rank: σᵢ > %g·σ₁. At most %d.", pair.relativeThreshold, min(pair.inputDimension, pair.outputDimension)))
        page.table(header: ["measure", "mean", "sd", "min", "max"], rows: [
            ("entropy rank", pair.entropyRank), ("participation ratio", pair.participationRatio), ("threshold rank", pair.thresholdRank),
        ].map { name, values in [name] + summary(values).map { String(format: "%.2f", $0) } })
        page.heading("A consistent low-dimensional factorisation?")
        let a = pair.agreement
        page.paragraph("Do different inputs use the same directions? For every pair of the first inputs (\(a.pairs) pairs), the principal angles between their top-\(a.k) singular subspaces (Björck & Golub 1973), summarised as the mean squared cosine: 1 when the subspaces coincide, k/d for random ones. Then the top-\(a.k) directions of all inputs together (eigenvectors of ΣJᵀJ and ΣJJᵀ) and the share of each input's ‖J‖²_F they hold.")
        page.table(header: ["side", "overlap between inputs", "random subspaces", "share held by the shared top-\(a.k)", "random subspace"], rows: [
            ["input (\(pair.from), d = \(pair.inputDimension))", String(format: "%.3f", a.inputSideOverlap), String(format: "%.3f", a.inputSideChance),
             String(format: "%.3f", SENNStabilityReport.meanAndDeviation(a.sharedInputCapture).mean), String(format: "%.3f", a.inputSideChance)],
            ["output (\(pair.to), d = \(pair.outputDimension))", String(format: "%.3f", a.outputSideOverlap), String(format: "%.3f", a.outputSideChance),
             String(format: "%.3f", SENNStabilityReport.meanAndDeviation(a.sharedOutputCapture).mean), String(format: "%.3f", a.outputSideChance)],
        ])
        page.heading("Invariance under a change of basis")
        page.paragraph("Seed 003: a hidden layer's basis is a choice. h′ = A·h with the next linear layer reading W·A⁻¹ is the same network; measures that survive every such A describe the function, those that do not describe the coordinates. A orthogonal (a rotation), or invertible with condition number up to 10. \(escapeHTML(record.invarianceNote)).")
        if let outcomes = record.invariance {
            page.table(header: ["A", "output change", "σ change into the layer", "entropy rank into", "threshold rank into", "σ change across", "inactive share", "excess kurtosis", "top-9 inputs kept"],
                       rows: outcomes.map { o in
                [o.kind.rawValue, String(format: "%.1e", o.outputChange), String(format: "%.1e", o.intoLayer.largestSingularValueChange),
                 String(format: "%.2f → %.2f", o.intoLayer.entropyRank[0], o.intoLayer.entropyRank[1]),
                 String(format: "%.1f → %.1f", o.intoLayer.thresholdRank[0], o.intoLayer.thresholdRank[1]),
                 String(format: "%.1e", o.acrossLayer.largestSingularValueChange),
                 String(format: "%.2f → %.2f", o.before.inactiveShare, o.after.inactiveShare),
                 String(format: "%.1f → %.1f", o.before.meanExcessKurtosis, o.after.meanExcessKurtosis), String(format: "%.0f%%", 100 * o.topInputOverlap)]
            })
            page.paragraph("Changes are relative to the largest value (output, σ₁). The function and every Jacobian that crosses the layer are unchanged up to float32 rounding; a rotation keeps the spectrum into the layer too, any invertible A keeps its rank in exact arithmetic but not its spectrum; the per-neuron measures move under both.")
        }
        if !record.chain.isEmpty {
            page.heading("Consecutive hook points")
            page.table(header: ["pair", "inputs", "d in → out", "entropy rank", "participation ratio", "threshold rank", "overlap (chance)"], rows: record.chain.map { p in
                ["\(p.from) → \(p.to)", "\(p.inputs)", "\(p.inputDimension) → \(p.outputDimension)", String(format: "%.1f", p.meanRanks.entropy),
                 String(format: "%.1f", p.meanRanks.participation), String(format: "%.1f", p.meanRanks.threshold),
                 String(format: "%.3f (%.3f)", p.agreement.inputSideOverlap, p.agreement.inputSideChance)]
            })
            page.html(record.chain.map { "<div style=\"display:inline-block\">\(spectrumChart($0.normalizedSpectrum, title: "\($0.from) → \($0.to)", width: 360).svg())</div>" }.joined())
        }
        if let points = record.training {
            page.heading("Through training")
            page.paragraph("The demo CNN trained from scratch on the bundled MNIST split (the demo's settings), the same pair measured at initialisation and after every epoch on the first \(min(pair.inputs, 64)) inputs.")
            var chart = LineChart(title: "mean effective ranks", xLabel: "epoch", series: [
                .init(name: "entropy rank", values: points.map(\.entropyRank), color: "#1f77b4"),
                .init(name: "participation ratio", values: points.map(\.participationRatio), color: "#d62728"),
            ])
            chart.xTicks = points.map { "\($0.epoch)" }
            page.html(chart.svg())
            page.table(header: ["epoch", "test accuracy", "entropy rank", "participation ratio", "threshold rank", "overlap between inputs"], rows: points.map { p in
                ["\(p.epoch)", String(format: "%.2f%%", 100 * p.testAccuracy), String(format: "%.1f", p.entropyRank), String(format: "%.1f", p.participationRatio),
                 String(format: "%.1f", p.thresholdRank), String(format: "%.3f", p.inputSideOverlap)]
            })
        }
        return page
    }

    static func spectrumChart(_ quantiles: [[Double]], title: String, width: Int = 560) -> LineChart {
        let logs = quantiles.map { $0.map { Foundation.log10(max($0, 1e-12)) } }
        var chart = LineChart(title: "\(title): log₁₀ σᵢ/σ₁", xLabel: "index i", series: [
            .init(name: "10th percentile", values: logs[0], color: "#9ecae1"),
            .init(name: "median", values: logs[1], color: "#1f77b4"),
            .init(name: "90th percentile", values: logs[2], color: "#08306b"),
        ])
        chart.width = width
        return chart
    }

    /// mean, standard deviation, min, max.
    static func summary(_ values: [Double]) -> [Double] {
        let (mean, deviation) = SENNStabilityReport.meanAndDeviation(values)
        return [mean, deviation, values.min() ?? .nan, values.max() ?? .nan]
    }
}
