import Attribution
import Datasets
import Foundation
import NN
import Report
import Torch

/// The demo's attribution page: every input-space method on the same test digits.
enum DemoAttribution {
    static func methods(_ model: Sequential, seed: UInt64) throws -> [(String, Heatmap.Sign, AttributionMethod)] {
        let patches = try patchMask(size: 28, patch: 4)
        var ig = IntegratedGradients(model)
        ig.steps = 50
        return [
            ("Saliency", .absoluteValue, Saliency(model)),
            ("Gradient × Input", .all, InputXGradient(model)),
            ("Integrated Gradients", .all, ig),
            ("SmoothGrad", .absoluteValue, NoiseTunnel(Saliency(model, absoluteValue: false), kind: .smoothGrad, samples: 50, standardDeviation: 0.15, seed: seed)),
            ("VarGrad", .absoluteValue, NoiseTunnel(Saliency(model, absoluteValue: false), kind: .varGrad, samples: 50, standardDeviation: 0.15, seed: seed)),
            ("Guided Backprop", .all, GuidedBackprop(model)),
            ("DeconvNet", .all, Deconvolution(model)),
            ("Grad-CAM (layer 3)", .positive, LayerGradCAM(model, hookPoint: "3")),
            ("Guided Grad-CAM", .all, GuidedGradCAM(model, hookPoint: "3")),
            ("Occlusion 4×4", .all, Occlusion(model, window: [1, 4, 4], strides: [1, 2, 2])),
            ("Feature ablation (4×4 patches)", .all, FeatureAblation(model, featureMask: patches)),
            ("Shapley sampling (4×4)", .all, ShapleyValueSampling(model, featureMask: patches, samples: 25, seed: seed)),
            ("KernelSHAP (4×4)", .all, KernelSHAP(model, featureMask: patches, samples: 300, seed: seed)),
            ("LIME (4×4)", .all, LIME(model, featureMask: patches, samples: 300, seed: seed)),
        ]
    }

    /// Square patches of `patch` pixels over a (1, size, size) image, numbered row by row.
    static func patchMask(size: Int, patch: Int) throws -> Tensor {
        let across = (size + patch - 1) / patch
        let rows = try Tensor.arange(0, Double(size)).floorDivide(Double(patch)).unsqueezed(dim: 1) * Double(across)
        let columns = try Tensor.arange(0, Double(size)).floorDivide(Double(patch)).unsqueezed(dim: 0)
        return try (rows + columns).unsqueezed(dim: 0)
    }

    /// The benchmark's KernelSHAP groups: 49 square patches (4 pixels on MNIST, 32 on 224×224), so 200 coalitions determine the fit.
    static func benchMask(for spec: BenchModel) throws -> Tensor {
        spec.architecture == "mnist-cnn" ? try patchMask(size: 28, patch: 4)
            : try patchMask(size: 224, patch: 32).expanded(to: [3, 224, 224]).contiguous()
    }

    /// Writes attribution.html and its images; returns the seconds it took per method.
    @discardableResult
    static func write(model: Sequential, test: LabelledImages, out: String, seed: UInt64, count: Int = 8) throws -> [(String, Double)] {
        let x = try test.images.slice(dim: 0, start: 0, end: count)
        let labels = try test.labels.slice(dim: 0, start: 0, end: count).scalars(as: Int64.self).map { Int($0) }
        let predicted = try noGrad { try model(x).argmax(dim: 1) }.scalars(as: Int64.self).map { Int($0) }
        var grid = AttributionGrid(images: x, rowLabels: zip(labels, predicted).map { "label \($0), predicted \($1)" })
        var timings: [(String, Double)] = []
        let progress = NN.Progress("attribution methods", total: 14, unit: "methods")
        for (title, sign, method) in try methods(model, seed: seed) {
            let started = Date()
            let values = try method.attribute(x, target: .indices(predicted)).values
            timings.append((title, Date().timeIntervalSince(started)))
            grid.columns.append(.init(title: title, values: values, sign: sign))
            progress.advance(status: title)
        }
        var page = HTMLPage(title: "Glassbox demo: why did the CNN predict that?")
        page.paragraph("Each column explains the model's predicted class for the same \(count) test digits with one attribution method, drawn over the digit. Signed maps: green supports the prediction, red speaks against it; unsigned maps: darker is more relevant. Colours follow Captum's visualize_image_attr (2% outlier clipping).")
        page.html(try grid.write(to: out, imageFolder: "attribution"))
        page.heading("Cost")
        page.keyValues(timings.map { ($0.0, String(format: "%.2f s for %d digits", $0.1, count)) })
        page.paragraph("Scores for these maps (faithfulness, stability, sanity checks) are not computed yet: that is the evaluation module, still to come. Until then, read these maps as hypotheses, not as explanations you can trust.")
        try page.write(to: (out as NSString).appendingPathComponent("attribution.html"))
        return timings
    }
}
