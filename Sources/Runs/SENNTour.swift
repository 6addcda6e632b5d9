import Concepts
import Foundation
import NN
import Report
import Torch

/// The tour's SENN page: the model the full study (`glassbox reproduce senn`) chooses — the
/// relevance-Jacobian penalty at λ 0.1, 12 epochs with a 4-epoch warm-up, on all training digits —
/// next to λ = 0 trained the same way, with explanations, prototypes and stability against the
/// CNN's post-hoc methods; and a tabular SENN at the λ the study chooses there (1). The same
/// models and numbers as the study's refits, without the validation sweeps that chose them.
public enum SENNTour {
    public static let jacobianLambda = 0.1
    public static let jacobianEpochs = 12
    public static let tabularLambda = 1.0

    public struct Result: Codable, Sendable {
        public var cnnAccuracy: Double
        public var jacobian: SweepRow, baseline: SweepRow
        public var tabular: SweepRow, tabularBaseline: SweepRow
        public var seconds: Double

        public var ratio: Double { jacobian.medianLipschitz / max(baseline.medianLipschitz, 1e-12) }
        public var boxRatio: Double { jacobian.medianBoxLipschitz / max(baseline.medianBoxLipschitz, 1e-12) }
        public var tabularRatio: Double { tabular.medianLipschitz / max(tabularBaseline.medianLipschitz, 1e-12) }

        /// The tour's summary lines, with the targets met or not.
        public var summary: [String] {
            func verdict(_ met: Bool) -> String { met ? "met" : "NOT met" }
            return [
                String(format: "SENN (relevance-Jacobian penalty, λ %g, %d epochs): accuracy %.2f%% vs CNN %.2f%% (target: within 1.5 points): %@",
                       jacobian.robustness, jacobianEpochs, 100 * jacobian.testAccuracy, 100 * cnnAccuracy, verdict(cnnAccuracy - jacobian.testAccuracy <= 0.015)),
                String(format: "SENN median Lipschitz vs λ = 0 trained as long (target ≤ 0.5): %.2f× by gradient ascent (%@), %.2f× by the authors' protocol (%@)",
                       ratio, verdict(ratio <= 0.5), boxRatio, verdict(boxRatio <= 0.5)),
                String(format: "breast-cancer SENN (λ %g): median Lipschitz %.2f× that of λ = 0, accuracy %.2f%%", tabular.robustness, tabularRatio,
                       100 * tabular.testAccuracy),
                String(format: "SENN part %.0f s", seconds),
            ]
        }
    }

    /// Writes senn.html and senn/ (the models) to `out`.
    public static func write(cnn: Module, cnnAccuracy: Double, data: MNISTSource, out: String, seed: UInt64) throws -> Result {
        let started = Date()
        let folder = (out as NSString).appendingPathComponent("senn")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let allDigits = try SENNData.load(.mnist, mnist: data).refitting()
        var options = SENNTrainingOptions(dataset: .mnist)
        options.robustnessPenalty = .relevanceJacobian
        options.epochs = jacobianEpochs
        options.robustnessWarmup = 4
        let settings = StabilitySettings(seed: seed)
        ProgressObserver.note(String(format: "SENN: λ = 0 and the relevance-Jacobian penalty at λ %g, %d epochs each on all training digits", jacobianLambda, jacobianEpochs))
        var models: [Double: SENN] = [:]
        let rows = try SENNAnalysis.sweep([0, jacobianLambda], options: options, data: allDigits, seed: seed, settings: settings) { lambda, model, _ in models[lambda] = model }
        let senn = models[jacobianLambda]!
        let file = try SENNFile.save(senn, dataset: .mnist, data: allDigits, to: (folder as NSString).appendingPathComponent("jacobian.safetensors"))
        let explanations = try SENNReport.explanations(file, inputs: allDigits.testInputs.slice(dim: 0, start: 0, end: 6),
                                                       names: (0..<6).map { "test digit \($0)" }, folder: out, imageFolder: "senn/explain")
        let prototypes = try SENNReport.prototypes(senn, images: allDigits.trainInputs, count: 10, folder: out, imageFolder: "senn/prototypes")
        var comparisonSettings = settings
        comparisonSettings.examples = 20
        ProgressObserver.note("SENN: stability of θ(x) against saliency, integrated gradients, LIME and occlusion on the CNN")
        let comparison = try SENNAnalysis.compare(senn: senn, cnn: cnn, inputs: allDigits.testInputs.slice(dim: 0, start: 0, end: 20),
                                                  settings: comparisonSettings)
        ProgressObserver.note(String(format: "SENN: breast-cancer data (features are the concepts), λ = 0 and λ %g", tabularLambda))
        let cancer = try SENNData.load(.breastCancer, mnist: data).refitting()
        var tabularModels: [Double: SENN] = [:]
        let tabularRows = try SENNAnalysis.sweep([0, tabularLambda], options: SENNTrainingOptions(dataset: .breastCancer), data: cancer,
                                                 seed: seed, settings: settings) { lambda, model, _ in tabularModels[lambda] = model }
        let tabularFile = try SENNFile.save(tabularModels[tabularLambda]!, dataset: .breastCancer, data: cancer,
                                            to: (folder as NSString).appendingPathComponent("breast-cancer.safetensors"))
        let tumours = try SENNReport.explanations(tabularFile, inputs: cancer.testInputs.slice(dim: 0, start: 0, end: 4),
                                                  names: (0..<4).map { "test tumour \($0)" }, folder: out, imageFolder: "senn/tabular")
        let result = Result(cnnAccuracy: cnnAccuracy, jacobian: rows[1], baseline: rows[0], tabular: tabularRows[1], tabularBaseline: tabularRows[0],
                            seconds: Date().timeIntervalSince(started))

        var page = HTMLPage(title: "Self-explaining neural networks (SENN) on MNIST and breast-cancer data")
        page.paragraph("A SENN predicts f(x) = Σₖ θ(x)ₖ·h(x)ₖ per class: concepts h(x) learnt by a convolutional autoencoder, relevances θ(x) from a CNN, trained with classification + λ·robustness + reconstruction + sparsity losses (Alvarez-Melis & Jaakkola, NeurIPS 2018). This model penalises the Jacobian of its relevances (before θ's tanh), the setting the full study chooses on a validation split; `glassbox reproduce senn` runs that study (the λ sweeps of the paper's L_θ and of this penalty) and compares it with the paper.")
        page.keyValues([
            ("test accuracy", String(format: "%.2f%% (λ %g, %d epochs with a 4-epoch warm-up; λ = 0 trained as long: %.2f%%; the CNN: %.2f%%)",
                                     100 * result.jacobian.testAccuracy, jacobianLambda, jacobianEpochs, 100 * result.baseline.testAccuracy, 100 * cnnAccuracy)),
            ("median local Lipschitz estimate of θ(x)", String(format: "%.4g vs %.4g for λ = 0 (%.2f×) by gradient ascent in the L∞ ball of radius %g; %.4g vs %.4g (%.2f×) by the authors' protocol",
                                                               result.jacobian.medianLipschitz, result.baseline.medianLipschitz, result.ratio, settings.radius,
                                                               result.jacobian.medianBoxLipschitz, result.baseline.medianBoxLipschitz, result.boxRatio)),
            ("concept faithfulness", String(format: "drops vs θ %.3f, drops vs θ·h %.3f (mean Pearson over %d test digits)",
                                            result.jacobian.meanFaithfulness, result.jacobian.meanContributionFaithfulness, settings.examples)),
            ("model", "senn/jacobian.safetensors: \(senn.concepts) concepts, \(senn.parameterCount) parameters"),
            ("time for this page", String(format: "%.0f s", result.seconds)),
        ])
        SENNReport.appendModelSections(to: &page, explanationsHeading: "Explanations", explanations: explanations, prototypes: prototypes,
                                       comparison: comparison, settings: comparisonSettings)
        page.heading("Tabular data: feature relevances")
        page.paragraph(String(format: "Breast-cancer data, the 30 standardised features as concepts, λ %g: test accuracy %.2f%%, median Lipschitz %.2f× that of λ = 0. Each row shows the ten features with the largest contributions θ·x.",
                              tabularLambda, 100 * result.tabular.testAccuracy, result.tabularRatio))
        page.html(tumours)
        try page.write(to: (out as NSString).appendingPathComponent("senn.html"))
        try JSONFile.write(result, to: (folder as NSString).appendingPathComponent("tour.json"))
        return result
    }
}
