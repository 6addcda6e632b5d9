import ArgumentParser
import ExplanationCore
import Attribution
import Datasets
import Foundation
import Report
import Torch

/// One attribution method as the command line offers it.
struct MethodEntry {
    let name: String
    let summary: String
    let needsNativeModel: Bool
    /// The method-specific options it accepts (flag names without dashes).
    let options: Set<String>
}

let attributionMethods: [MethodEntry] = [
    .init(name: "saliency", summary: "|∂f/∂x| (Simonyan et al. 2014); --signed keeps the sign", needsNativeModel: false, options: ["signed"]),
    .init(name: "input-x-gradient", summary: "x · ∂f/∂x (Shrikumar et al. 2016)", needsNativeModel: false, options: []),
    .init(name: "integrated-gradients", summary: "path integral of gradients from a baseline (Sundararajan et al. 2017)", needsNativeModel: false,
          options: ["steps", "rule", "baseline", "internal-batch-size"]),
    .init(name: "smoothgrad", summary: "signed gradients averaged over noisy copies (Smilkov et al. 2017)", needsNativeModel: false, options: ["samples", "stdev"]),
    .init(name: "smoothgrad-sq", summary: "SmoothGrad of squared gradients", needsNativeModel: false, options: ["samples", "stdev"]),
    .init(name: "vargrad", summary: "variance of gradients over noisy copies (Adebayo et al. 2018)", needsNativeModel: false, options: ["samples", "stdev"]),
    .init(name: "guided-backprop", summary: "gradients through ReLUs passing only positive signal (Springenberg et al. 2015)", needsNativeModel: true, options: []),
    .init(name: "deconvolution", summary: "DeconvNet backward pass (Zeiler & Fergus 2014)", needsNativeModel: true, options: []),
    .init(name: "grad-cam", summary: "channel-weighted activations at --layer, upsampled (Selvaraju et al. 2017)", needsNativeModel: true, options: ["layer", "no-relu"]),
    .init(name: "guided-grad-cam", summary: "Guided Backprop × Grad-CAM at --layer", needsNativeModel: true, options: ["layer"]),
    .init(name: "occlusion", summary: "output drop when a sliding window is replaced by the baseline (Zeiler & Fergus 2014)", needsNativeModel: false,
          options: ["window", "strides", "baseline"]),
    .init(name: "feature-ablation", summary: "output drop when each feature group is replaced by the baseline", needsNativeModel: false,
          options: ["feature-mask", "patch", "baseline"]),
    .init(name: "shapley-value-sampling", summary: "Shapley values from random orderings of feature groups (Castro et al. 2009)", needsNativeModel: false,
          options: ["feature-mask", "patch", "baseline", "samples"]),
    .init(name: "kernel-shap", summary: "Shapley values by kernel-weighted regression (Lundberg & Lee 2017)", needsNativeModel: false,
          options: ["feature-mask", "patch", "baseline", "samples"]),
    .init(name: "lime", summary: "weighted linear surrogate on random coalitions (Ribeiro et al. 2016)", needsNativeModel: false,
          options: ["feature-mask", "patch", "baseline", "samples", "kernel-width"]),
    .init(name: "layer-activation", summary: "the activation at --layer", needsNativeModel: true, options: ["layer"]),
    .init(name: "layer-integrated-gradients", summary: "Integrated Gradients in --layer's activation space", needsNativeModel: true,
          options: ["layer", "steps", "rule", "baseline", "internal-batch-size"]),
    .init(name: "layer-conductance", summary: "IG flowing through each unit of --layer (Dhamdhere et al. 2018)", needsNativeModel: true,
          options: ["layer", "steps", "rule", "baseline", "internal-batch-size"]),
    .init(name: "neuron-gradient", summary: "gradient of one --neuron at --layer", needsNativeModel: true, options: ["layer", "neuron"]),
    .init(name: "neuron-integrated-gradients", summary: "Integrated Gradients of one --neuron at --layer", needsNativeModel: true,
          options: ["layer", "neuron", "steps", "rule", "baseline", "internal-batch-size"]),
]

struct Attribute: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a model's predictions with an attribution method; writes arrays and heat maps.",
        discussion: """
        Writes to --out: attributions.safetensors (one tensor per input), <input>.<method>.npy, and for image-shaped
        attributions <input>.<method>.png (heat map) and <input>.<method>.blended.png (over the input).
        `glassbox attribute --list` names the methods and the options each takes.
        Methods marked "native" need a Glassbox model (they use hook points or ReLU modules); the rest also run TorchScript models.
        """
    )

    @Flag(help: "List the methods and their options, then exit.") var list = false
    @Option(help: "A Glassbox model.safetensors, a torchvision ResNet-18 state dict (safetensors) or a TorchScript file.") var model: String?
    @Option(name: .customLong("input"), parsing: .upToNextOption, help: "Input files: .png, .npy or .safetensors.") var inputs: [String] = []
    @Option(help: "Class to explain: a number, a comma-separated number per example, or 'predicted'.") var target = "predicted"
    @Option(help: "Method name (see --list).") var method: String?
    @Option(help: "Output folder.") var out = "runs/attribute"

    @Option(help: "Integration steps (IG and its layer/neuron variants).") var steps: Int?
    @Option(help: "Quadrature: riemann_left, riemann_right, riemann_middle, riemann_trapezoid, gausslegendre.") var rule: String?
    @Option(help: "Baseline: zeros, value:V, blur:SIGMA, noise (uniform [0,1), seeded) or a .npy file.") var baseline: String?
    @Option(help: "Rows (path points) per forward/backward call; bounds memory on large models and batches (default 64).") var internalBatchSize: Int?
    @Option(help: "Samples (noise tunnel copies, Shapley orderings, LIME/KernelSHAP coalitions).") var samples: Int?
    @Option(help: "Noise standard deviation for the noise tunnel, in input units.") var stdev: Double?
    @Option(help: "Hook point for layer, neuron and Grad-CAM methods (e.g. 3).") var layer: String?
    @Option(help: "Neuron index in the layer's activation, comma-separated (e.g. 5 or 12,3,4).") var neuron: String?
    @Option(help: "Occlusion window per input dimension, comma-separated (default 1,4,4 style: all channels, 4×4 pixels).") var window: String?
    @Option(help: "Occlusion strides, comma-separated (default: half the window).") var strides: String?
    @Option(help: "Feature groups as a .npy of integers 0…G−1 with one input's shape.") var featureMask: String?
    @Option(help: "Feature groups as square patches of this many pixels.") var patch: Int?
    @Option(help: "LIME kernel width.") var kernelWidth: Double?
    @Flag(help: "Saliency: keep the gradient's sign.") var signed = false
    @Flag(help: "Grad-CAM: keep negative evidence (no ReLU).") var noRelu = false

    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @Option(help: "Heat-map sign: all, positive, negative, absolute_value.") var sign = "absolute_value"
    @Option(help: "Percent of attribution mass clipped as outliers in heat maps.") var outlierPercent = 2.0
    @OptionGroup var common: CommonOptions

    /// Path points per forward/backward call for IG and its layer and neuron variants.
    var pathBatchSize: Int { internalBatchSize ?? 64 }

    /// The method options given on the command line.
    var givenOptions: Set<String> {
        var given: Set<String> = []
        let values: [(String, Bool)] = [
            ("steps", steps != nil), ("rule", rule != nil), ("baseline", baseline != nil), ("internal-batch-size", internalBatchSize != nil),
            ("samples", samples != nil), ("stdev", stdev != nil), ("layer", layer != nil), ("neuron", neuron != nil),
            ("window", window != nil), ("strides", strides != nil), ("feature-mask", featureMask != nil), ("patch", patch != nil),
            ("kernel-width", kernelWidth != nil), ("signed", signed), ("no-relu", noRelu),
        ]
        for (name, present) in values where present { given.insert(name) }
        return given
    }

    func validate() throws {
        if list { return }
        guard model != nil else { throw ValidationError("--model is required") }
        guard !inputs.isEmpty else { throw ValidationError("give at least one --input file") }
        guard let method else { throw ValidationError("--method is required; `glassbox attribute --list` names them") }
        guard let entry = attributionMethods.first(where: { $0.name == method }) else {
            throw ValidationError("unknown method '\(method)'; known: \(attributionMethods.map(\.name).joined(separator: ", "))")
        }
        let stray = givenOptions.subtracting(entry.options)
        if let first = stray.sorted().first {
            throw ValidationError("--\(first) does not apply to \(method) (it takes: \(entry.options.isEmpty ? "no options" : entry.options.sorted().map { "--\($0)" }.joined(separator: ", ")))")
        }
        if entry.options.contains("layer"), layer == nil { throw ValidationError("\(method) needs --layer (a hook point such as 3)") }
        if entry.options.contains("neuron"), neuron == nil { throw ValidationError("\(method) needs --neuron (an index such as 5)") }
        if featureMask != nil, patch != nil { throw ValidationError("give --feature-mask or --patch, not both") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if let samples, samples < 1 { throw ValidationError("--samples must be at least 1") }
        if let internalBatchSize, internalBatchSize < 1 { throw ValidationError("--internal-batch-size must be at least 1") }
        if let patch, patch < 1 { throw ValidationError("--patch must be at least 1") }
        if let rule, IntegrationRule(rawValue: rule) == nil {
            throw ValidationError("unknown --rule '\(rule)'; use \(IntegrationRule.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try InputNormalization.validate(normalize)
        if Heatmap.Sign(rawValue: sign) == nil { throw ValidationError("--sign must be all, positive, negative or absolute_value") }
        if !(0...100).contains(outlierPercent) { throw ValidationError("--outlier-percent must be between 0 and 100") }
    }

    func run() throws {
        if list {
            print("Methods (native = needs a Glassbox model; the rest also run TorchScript):\n")
            for entry in attributionMethods {
                let options = entry.options.sorted().map { "--\($0)" }.joined(separator: " ")
                print("  \(entry.name.padding(toLength: 28, withPad: " ", startingAt: 0))\(entry.needsNativeModel ? "native  " : "        ")\(entry.summary)")
                if !options.isEmpty { print(String(repeating: " ", count: 38) + "options: \(options)") }
            }
            print("\nCommon: --target N|N,N,…|predicted, --out DIR, --sign, --outlier-percent, --normalize, --seed, --threads")
            return
        }
        try common.apply()
        let loaded = try ModelFile.load(model!)
        let entry = attributionMethods.first { $0.name == method! }!
        if entry.needsNativeModel, loaded.model.module == nil {
            throw TorchError("\(entry.name) needs a native Glassbox model (it uses hook points or ReLU modules); \(model!) is TorchScript. Methods that run on TorchScript: \(attributionMethods.filter { !$0.needsNativeModel }.map(\.name).joined(separator: ", "))")
        }
        // Compute everything first, so an error on any input leaves no files behind.
        let normalization = try normalize.map(InputNormalization.init(parsing:))
        var results: [(path: String, batch: Tensor, names: [String], targets: [Int], attribution: AttributionResult)] = []
        for path in inputs {
            let (batch, names) = try loaded.inputs(from: path)
            let input = try normalization?(batch) ?? batch
            let targets = try resolveTarget(batch: input, model: loaded)
            let featureCount = input.shape.dropFirst().reduce(1, *)
            if ["shapley-value-sampling", "kernel-shap", "lime"].contains(entry.name), featureMask == nil, patch == nil, featureCount > 4096 {
                throw TorchError("\(entry.name) would treat each of the \(featureCount) input features of \(path) as a player; group them with --patch N (e.g. --patch 16) or --feature-mask")
            }
            let method = try makeMethod(loaded.model, featureShape: Array(input.shape.dropFirst()))
            let progress = DelayedProgress("\(entry.name) on \((path as NSString).lastPathComponent)", unit: "rows")
            let attribution = try AttributionProgress.$current.withValue(AttributionProgress(progress.report)) {
                try method.attribute(input, target: .indices(targets))
            }
            results.append((path, batch, names, targets, attribution))
        }
        var stored: [String: Tensor] = [:]
        var rows: [String] = []
        for (path, batch, names, targets, attribution) in results {
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            try NumpyFile.write(attribution.values, to: "\(out)/\(stem).\(entry.name).npy")
            for (row, name) in names.enumerated() {
                let values = try attribution.values[row]
                stored[name] = values
                let label = names.count == 1 ? stem : "\(stem)-\(row)"
                try writePictures(values, image: batch[row], label: label, method: entry.name)
                var line = "\(name): target \(targets[row]), sum of attributions \(String(format: "%.5g", try values.sum().item()))"
                if let delta = attribution.convergenceDelta {
                    line += ", convergence delta \(String(format: "%.3g", try delta[row].item()))"
                }
                rows.append(line)
            }
        }
        try Safetensors.write(stored, metadata: ["method": entry.name, "model": model!], to: "\(out)/attributions.safetensors")
        rows.forEach { print($0) }
        print("wrote \(out)/attributions.safetensors and per-input files")
    }

    func resolveTarget(batch: Tensor, model: LoadedModel) throws -> [Int] {
        let n = batch.shape[0]
        let outputs = try noGrad { try model(batch.slice(dim: 0, start: 0, end: min(n, 1))) }
        guard outputs.rank == 2 else { throw TorchError("the model returns shape \(outputs.shape); attribution needs (N, classes)") }
        let classes = outputs.shape[1]
        let chosen: [Int]
        if target == "predicted" {
            chosen = try noGrad { try model(batch).argmax(dim: 1) }.scalars(as: Int64.self).map { Int($0) }
        } else {
            let parts = target.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.allSatisfy({ $0 != nil }), !parts.isEmpty else { throw TorchError("--target must be a class number, a comma-separated list, or 'predicted'; got '\(target)'") }
            let values = parts.map { $0! }
            guard values.count == 1 || values.count == n else { throw TorchError("--target lists \(values.count) classes for \(n) examples") }
            chosen = values.count == 1 ? Array(repeating: values[0], count: n) : values
        }
        if let bad = chosen.first(where: { !(0..<classes).contains($0) }) {
            throw TorchError("target \(bad) is out of range: the model has \(classes) classes (0…\(classes - 1))")
        }
        return chosen
    }

    func parseList(_ text: String, _ flag: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw TorchError("--\(flag) takes comma-separated non-negative integers, got '\(text)'")
        }
        return values.map { $0! }
    }

    func parseBaseline() throws -> Baseline {
        guard let baseline else { return .zeros }
        if baseline == "zeros" { return .zeros }
        if baseline == "noise" { return .uniformNoise(low: 0, high: 1, seed: common.seed) }
        if baseline.hasPrefix("value:"), let v = Double(baseline.dropFirst(6)), v.isFinite { return .value(v) }
        if baseline.hasPrefix("blur:"), let s = Double(baseline.dropFirst(5)), s > 0 { return .blurred(sigma: s) }
        if baseline.hasSuffix(".npy") { return .tensor(try NumpyFile.read(baseline).to(.float32)) }
        throw TorchError("--baseline must be zeros, value:V, blur:SIGMA, noise or a .npy file; got '\(baseline)'")
    }

    func groups(featureShape: [Int]) throws -> Tensor? {
        if let featureMask { return try NumpyFile.read(featureMask) }
        guard let patch else { return nil }
        guard featureShape.count == 3 else { throw TorchError("--patch needs image inputs (C, H, W), got \(featureShape)") }
        return try DemoAttribution.patchMask(size: featureShape[1], width: featureShape[2], patch: patch).expanded(to: featureShape).contiguous()
    }

    func makeMethod(_ model: Explainable, featureShape: [Int]) throws -> AttributionMethod {
        let rule = self.rule.flatMap(IntegrationRule.init(rawValue:)) ?? .gaussLegendre
        let seed = common.seed
        switch method! {
        case "saliency": return Saliency(model, absoluteValue: !signed)
        case "input-x-gradient": return InputXGradient(model)
        case "integrated-gradients":
            var m = IntegratedGradients(model)
            m.baseline = try parseBaseline(); m.steps = steps ?? 50; m.rule = rule; m.internalBatchSize = pathBatchSize
            return m
        case "smoothgrad", "smoothgrad-sq", "vargrad":
            let kind: NoiseTunnel.Kind = method == "smoothgrad" ? .smoothGrad : method == "vargrad" ? .varGrad : .smoothGradSquared
            return NoiseTunnel(Saliency(model, absoluteValue: false), kind: kind, samples: samples ?? 50, standardDeviation: stdev ?? 0.15, seed: seed)
        case "guided-backprop": return GuidedBackprop(model)
        case "deconvolution": return Deconvolution(model)
        case "grad-cam": return LayerGradCAM(model, hookPoint: layer!, reluAttributions: !noRelu)
        case "guided-grad-cam": return GuidedGradCAM(model, hookPoint: layer!)
        case "occlusion":
            let defaultWindow = featureShape.count == 3 ? [featureShape[0], min(4, featureShape[1]), min(4, featureShape[2])] : featureShape.map { _ in 1 }
            let windowSize = try window.map { try parseList($0, "window") } ?? defaultWindow
            let strideSize = try strides.map { try parseList($0, "strides") } ?? windowSize.map { max(1, $0 / 2) }
            return Occlusion(model, window: windowSize, strides: strideSize, baseline: try parseBaseline())
        case "feature-ablation": return FeatureAblation(model, baseline: try parseBaseline(), featureMask: try groups(featureShape: featureShape))
        case "shapley-value-sampling":
            return ShapleyValueSampling(model, baseline: try parseBaseline(), featureMask: try groups(featureShape: featureShape), samples: samples ?? 25, seed: seed)
        case "kernel-shap":
            return KernelSHAP(model, baseline: try parseBaseline(), featureMask: try groups(featureShape: featureShape), samples: samples ?? 200, seed: seed)
        case "lime":
            var m = LIME(model, baseline: try parseBaseline(), featureMask: try groups(featureShape: featureShape), samples: samples ?? 200, seed: seed)
            m.kernelWidth = kernelWidth ?? 1
            return m
        case "layer-activation": return LayerActivation(model, hookPoint: layer!)
        case "layer-integrated-gradients":
            var m = LayerIntegratedGradients(model, hookPoint: layer!)
            m.baseline = try parseBaseline(); m.steps = steps ?? 50; m.rule = rule; m.internalBatchSize = pathBatchSize
            return m
        case "layer-conductance":
            var m = LayerConductance(model, hookPoint: layer!)
            m.baseline = try parseBaseline(); m.steps = steps ?? 50; m.rule = rule; m.internalBatchSize = pathBatchSize
            return m
        case "neuron-gradient": return NeuronGradient(model, neuron: Neuron(layer!, try parseList(neuron!, "neuron")))
        case "neuron-integrated-gradients":
            var m = NeuronIntegratedGradients(model, neuron: Neuron(layer!, try parseList(neuron!, "neuron")))
            m.baseline = try parseBaseline(); m.steps = steps ?? 50; m.rule = rule; m.internalBatchSize = pathBatchSize
            return m
        default: throw TorchError("unknown method \(method!)")
        }
    }

    /// Heat map and blended overlay, when the attribution has the input's spatial shape (or is a 2-D/3-D map).
    func writePictures(_ values: Tensor, image: Tensor, label: String, method: String) throws {
        guard values.rank == 3 || values.rank == 2 else { return }
        let chosenSign = Heatmap.Sign(rawValue: sign)!
        try PNG.write(Heatmap.render(values, style: .heatMap, sign: chosenSign, outlierPercentile: outlierPercent),
                      to: "\(out)/\(label).\(method).png")
        let mapShape = values.rank == 3 ? Array(values.shape.dropFirst()) : values.shape
        if image.rank == 3, Array(image.shape.dropFirst()) == mapShape, [1, 3].contains(image.shape[0]) {
            try PNG.write(Heatmap.render(values, image: image, style: .blendedHeatMap, sign: chosenSign, outlierPercentile: outlierPercent),
                          to: "\(out)/\(label).\(method).blended.png")
        }
    }
}
