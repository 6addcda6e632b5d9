import Foundation
import NN
import Torch

/// `glassbox demo`: a five-minute tour of the product on the bundled data — the CNN and its report,
/// every attribution method with its scores, a randomisation sanity check, transparent baselines
/// against the CNN, and a self-explaining network — each page linked from index.html. The papers' full studies are `glassbox reproduce`.
public enum Tour {
    /// The tour's time budget after the build, on 2 cores.
    public static let targetSeconds = 300.0

    /// Runs the tour into `out`; returns the summary lines (each target met or not).
    public static func run(source: MNISTSource, training: CNNTrainingOptions, out: String, seed: UInt64, includeSENN: Bool = true) throws -> [String] {
        let started = Date()
        try OutputFolder.prepare(out)
        for page in ["senn.html", "sanity-check.html", "transparent/compare.html"] {
            let path = (out as NSString).appendingPathComponent(page)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
        let (model, metrics, test) = try MNISTRun.train(source: source, options: training, seed: seed, out: out, resume: false)
        try AttributionPage.write(model: model, test: test, out: out, seed: seed)
        let cnnSeconds = Date().timeIntervalSince(started)
        ProgressObserver.note("sanity check: saliency, integrated gradients and Guided Backprop as the CNN's layers are randomised")
        var check = SanityCheckRun(methods: ["saliency", "integrated-gradients", "guided-backprop"], layer: nil, seed: seed, out: out)
        try ProgressObserver.quietly { try check.run(model, inputs: test.images.slice(dim: 0, start: 0, end: 4)) }
        ProgressObserver.note("transparent baselines: logistic regression, trees, nearest neighbours and a tree distilled from the CNN")
        var data = TransparentDataOptions()
        (data.mnist, data.seed) = (source, seed)
        _ = try ProgressObserver.quietly {
            try TradeoffStudy.run(data: data, network: (model, metrics.trainSeconds), senn: nil, inverseStrength: 0.05,
                                  distillationDepths: [1, 3, 6, 10, nil], out: (out as NSString).appendingPathComponent("transparent"))
        }
        let senn = includeSENN ? try SENNTour.write(cnn: model, cnnAccuracy: metrics.testAccuracy, data: source, out: out, seed: seed).summary : []
        let total = Date().timeIntervalSince(started)
        try MNISTRun.writeReport(model: model, metrics: metrics, test: test, out: out, totalSeconds: total)
        func verdict(_ met: Bool) -> String { met ? "met" : "NOT met" }
        return [
            String(format: "test accuracy %.2f%% (target ≥ 97%%): %@", 100 * metrics.testAccuracy, verdict(metrics.testAccuracy >= 0.97)),
            String(format: "CNN part %.1f s (target < 180 s on 2 cores): %@", cnnSeconds, verdict(cnnSeconds < 180)),
        ] + senn + [
            String(format: "tour %.0f s (target < %.0f s on 2 cores): %@", total, targetSeconds, verdict(total < targetSeconds)),
        ]
    }
}
