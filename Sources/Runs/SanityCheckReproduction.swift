import Foundation
import Torch

/// Adebayo et al. 2018, "Sanity Checks for Saliency Maps": cascading model randomisation and label
/// randomisation on the demo CNN.
enum SanityCheckReproduction {
    static let entry = Reproduction(
        name: "sanity-checks", title: "Sanity checks for saliency maps: model and label randomisation",
        paper: "Adebayo et al., NeurIPS 2018",
        cost: "about 5 minutes on 2 cores (a CNN, six methods through every randomisation, a copy trained 80 epochs on permuted labels)",
        quickCost: "about 30 seconds", body: run)

    static func run(_ settings: ReproductionSettings) throws -> ReproductionReport {
        let (cnn, _) = try ReproductionCatalog.cnn(settings)
        let methods = settings.quick ? ["saliency", "guided-backprop"]
            : ["saliency", "smoothgrad", "input-x-gradient", "integrated-gradients", "guided-backprop", "guided-grad-cam"]
        let test = try settings.mnist.loadTest().test
        var check = SanityCheckRun(methods: methods, layer: nil, seed: settings.seed, out: settings.out)
        check.labelRandomization = (try settings.mnist.load().train, settings.quick ? 2 : 80)
        try check.run(cnn, inputs: test.images.slice(dim: 0, start: 0, end: settings.quick ? 2 : 8))

        func rank(_ method: String, step: Int) -> Double {
            guard let steps = check.cascading.first(where: { $0.method == method })?.steps, !steps.isEmpty else { return .nan }
            return (try? steps[min(step, steps.count - 1)].similarity["spearman-abs"]!.mean().item()) ?? .nan
        }
        let (gradientTop, gradientAll) = (rank("saliency", step: 1), rank("saliency", step: .max))
        let guidedTop = rank("guided-backprop", step: 1)
        let fit = check.permutedLabelFit ?? 0
        let labelRank = Dictionary(check.labelSimilarity.map { ($0.method, $0.spearmanAbs) }) { a, _ in a }
        let (gradientLabel, guidedLabel) = (labelRank["saliency"] ?? .nan, labelRank["guided-backprop"] ?? .nan)
        return ReproductionReport(name: "sanity-checks", title: entry.title, paper: entry.paper, quick: settings.quick, seconds: 0, claims: [
            ReproducedClaim(claim: "Cascading randomisation from the top layer: gradient maps change",
                            published: "Gradient and SmoothGrad change as soon as the top layer is randomised",
                            ours: String(format: "saliency's mean |Spearman| with its trained map: %.2f after the top layer, %.2f with every layer randomised", gradientTop, gradientAll),
                            verdict: gradientAll < 0.3 ? .met : .notMet, why: "target: below 0.3 once every layer is randomised"),
            ReproducedClaim(claim: "Guided Backprop is insensitive to the top layers",
                            published: "Guided Backprop and Guided Grad-CAM stay similar until low layers are randomised",
                            ours: String(format: "Guided Backprop's mean |Spearman| after the top layer: %.2f (saliency: %.2f)", guidedTop, gradientTop),
                            verdict: guidedTop > 0.5 && guidedTop > gradientTop ? .met : .notMet, why: "above 0.5 and above the gradient's"),
            ReproducedClaim(claim: "A network can fit randomly permuted labels",
                            published: "above 95% training accuracy on permuted MNIST labels",
                            ours: String(format: "%.1f%% on the permuted labels of the training digits", 100 * fit),
                            verdict: fit > 0.95 ? .met : .notMet, why: settings.quick ? "a quick run trains 2 epochs, far too few to memorise" : ""),
            ReproducedClaim(claim: "Label randomisation changes gradient maps more than Guided Backprop's",
                            published: "gradient maps change a lot; Guided Backprop still outlines the digit",
                            ours: String(format: "mean |Spearman| between the true-label and permuted-label models' maps: saliency %.2f, Guided Backprop %.2f", gradientLabel, guidedLabel),
                            verdict: gradientLabel < guidedLabel ? .met : .notMet, why: ""),
        ], detailPage: "sanity-check.html")
    }
}
