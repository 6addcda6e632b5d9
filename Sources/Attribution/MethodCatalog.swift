import ExplanationCore
import NN
import Torch

/// A method option a front end can set; nil in `MethodSettings` means the catalog's default.
public enum MethodOption: String, CaseIterable, Sendable {
    case steps, rule, baseline, internalBatchSize = "internal-batch-size", samples, stdev, layer, neuron, window, strides
    case featureMask = "feature-mask", patch, kernelWidth = "kernel-width", signed, noRelu = "no-relu"

    /// One line for `--help` and `attribute --list`, with the default.
    public var help: String {
        switch self {
        case .steps: "Integration steps (IG and its layer/neuron variants; default \(MethodCatalog.steps), at most \(MethodCatalog.maximumSteps))."
        case .rule: "Quadrature: \(IntegrationRule.allCases.map(\.rawValue).joined(separator: ", ")) (default gausslegendre)."
        case .baseline: "Baseline: zeros (default), value:V, blur:SIGMA, noise (uniform [0,1), seeded) or a .npy file."
        case .internalBatchSize: "Rows (path points) per forward/backward call; bounds memory on large models and batches (default: as many as hold \(MethodCatalog.pathBatchValues / 1_000_000) million input values, e.g. 64 images of 3×224×224; at most \(MethodCatalog.maximumBatchRows))."
        case .samples: "Samples: noise-tunnel copies (default \(MethodCatalog.noiseSamples)), Shapley orderings (\(MethodCatalog.shapleySamples)), LIME/KernelSHAP coalitions (\(MethodCatalog.surrogateSamples), more than the feature groups); at most \(MethodCatalog.maximumSamples)."
        case .stdev: "Noise standard deviation for the noise tunnel, in input units (default \(MethodCatalog.standardDeviation))."
        case .layer: "Hook point for layer, neuron and Grad-CAM methods (default for Grad-CAM: layer4 of a ResNet, else the last convolution)."
        case .neuron: "Neuron index in the layer's activation, comma-separated (e.g. 5 or 12,3,4)."
        case .window: "Occlusion window per input dimension, comma-separated (default: all channels × 4×4 pixels for images, 1 per feature otherwise)."
        case .strides: "Occlusion strides, comma-separated (default: half the window)."
        case .featureMask: "Feature groups as a .npy of integers 0…G−1 with one input's shape."
        case .patch: "Feature groups as square patches of this many pixels (default for images: a 7×7 grid of patches; otherwise one group per feature)."
        case .kernelWidth: "LIME kernel width (default \(LIME.defaultKernelWidth) on input cosine distances; \(LIME.tokenKernelWidth) on coalition cosine distances for token ids)."
        case .signed: "Saliency: keep the gradient's sign."
        case .noRelu: "Grad-CAM: keep negative evidence (no ReLU)."
        }
    }
}

/// What a front end asks of a method. Unset values take the catalog's defaults (`MethodCatalog`),
/// written once for every front end.
public struct MethodSettings {
    public var steps: Int?
    public var rule: IntegrationRule?
    public var baseline: Baseline?
    public var internalBatchSize: Int?
    public var samples: Int?
    public var standardDeviation: Double?
    public var layer: String?
    public var neuron: [Int]?
    public var window: [Int]?
    public var strides: [Int]?
    public var featureMask: Tensor?
    public var patch: Int?
    public var kernelWidth: Double?
    public var signed = false
    public var noReLU = false
    /// Rows per forward call of perturbation methods, and noisy copies per example per call of the noise
    /// tunnel (throughput settings: the benchmark matches Captum's).
    public var perturbationsPerEvaluation: Int?
    public var samplesPerBatch: Int?
    public var seed: UInt64 = 0

    public init(seed: UInt64 = 0) {
        self.seed = seed
    }

    /// The options that differ from "unset", by their front-end names.
    public var given: Set<MethodOption> {
        let present: [(MethodOption, Bool)] = [
            (.steps, steps != nil), (.rule, rule != nil), (.baseline, baseline != nil), (.internalBatchSize, internalBatchSize != nil),
            (.samples, samples != nil), (.stdev, standardDeviation != nil), (.layer, layer != nil), (.neuron, neuron != nil),
            (.window, window != nil), (.strides, strides != nil), (.featureMask, featureMask != nil), (.patch, patch != nil),
            (.kernelWidth, kernelWidth != nil), (.signed, signed), (.noRelu, noReLU),
        ]
        return Set(present.filter(\.1).map(\.0))
    }
}

/// One attribution method as every front end offers it.
public struct MethodEntry: Sendable {
    public let name: String
    /// One line: what it computes, and the paper.
    public let summary: String
    /// Why it needs a native Glassbox model, or nil when TorchScript models and functions work too.
    public let nativeModelReason: String?
    public let options: [MethodOption]
    /// Whether its maps explain the target output in input space, so explanation metrics and
    /// sanity checks apply (layer and neuron methods explain something else).
    public let isScorable: Bool
    let make: @Sendable (_ model: Explainable, _ featureShape: [Int], _ settings: MethodSettings) throws -> AttributionMethod

    public var needsNativeModel: Bool { nativeModelReason != nil }
}

/// The attribution methods and their front-end defaults: `glassbox attribute`, `score`,
/// `sanity-check`, the demo, the benchmark and library users all build methods here.
///
/// The method types keep Captum's defaults; where a front end needs a different one (a bounded
/// path batch, more coalitions, patches instead of single pixels), it is set here, once.
public enum MethodCatalog {
    public static let steps = 50
    /// Input values per forward/backward call of a path method (IG and its variants): 64 images of
    /// 3×224×224, so memory stays bounded on a batch of ResNet inputs while small inputs run in one call.
    public static let pathBatchValues = 64 * 3 * 224 * 224

    /// Path points per forward/backward call for inputs of one example's shape `featureShape`.
    public static func pathBatchSize(featureShape: [Int]) -> Int {
        max(1, pathBatchValues / max(1, featureShape.reduce(1, *)))
    }
    public static let noiseSamples = 50
    public static let standardDeviation = 0.15
    public static let shapleySamples = 25
    /// Coalitions for LIME and KernelSHAP: enough to determine a fit over 49 patches.
    public static let surrogateSamples = 200
    /// Perturbation methods refuse to treat more features than this as players one by one.
    public static let maximumUngroupedFeatures = 4096
    /// Bounds on counts a user gives: beyond them a run takes hours or memory runs out.
    public static let maximumSteps = 10_000
    public static let maximumSamples = 100_000
    public static let maximumBatchRows = 1_000_000

    public static let entries: [MethodEntry] = [
        portable("saliency", "|∂f/∂x| (Simonyan et al. 2014); --signed keeps the sign", options: [.signed]) { model, _, s in
            Saliency(model, absoluteValue: !s.signed)
        },
        portable("input-x-gradient", "x · ∂f/∂x (Shrikumar et al. 2016)") { model, _, _ in InputXGradient(model) },
        portable("integrated-gradients", "path integral of gradients from a baseline (Sundararajan et al. 2017)",
                 options: [.steps, .rule, .baseline, .internalBatchSize]) { model, shape, s in
            var method = IntegratedGradients(model)
            try path(&method.steps, &method.rule, &method.baseline, &method.internalBatchSize, s, featureShape: shape)
            return method
        },
        noiseTunnel("smoothgrad", "signed gradients averaged over noisy copies (Smilkov et al. 2017)", .smoothGrad),
        noiseTunnel("smoothgrad-sq", "SmoothGrad of squared gradients", .smoothGradSquared),
        noiseTunnel("vargrad", "variance of gradients over noisy copies (Adebayo et al. 2018)", .varGrad),
        native("guided-backprop", "gradients through ReLUs passing only positive signal (Springenberg et al. 2015)",
               reason: "it changes the backward rule of ReLU modules") { model, _, _ in GuidedBackprop(model) },
        native("deconvolution", "DeconvNet backward pass (Zeiler & Fergus 2014)",
               reason: "it changes the backward rule of ReLU modules") { model, _, _ in Deconvolution(model) },
        native("grad-cam", "channel-weighted activations at --layer, upsampled (Selvaraju et al. 2017)", reason: "it reads a hook point",
               options: [.layer, .noRelu]) { model, _, s in
            LayerGradCAM(model, hookPoint: try layer(s, model), reluAttributions: !s.noReLU)
        },
        native("guided-grad-cam", "Guided Backprop × Grad-CAM at --layer", reason: "it reads a hook point and changes ReLU modules",
               options: [.layer]) { model, _, s in GuidedGradCAM(model, hookPoint: try layer(s, model)) },
        portable("occlusion", "output drop when a sliding window is replaced by the baseline (Zeiler & Fergus 2014)",
                     options: [.window, .strides, .baseline]) { model, shape, s in
            let window = s.window ?? defaultWindow(featureShape: shape)
            var method = Occlusion(model, window: window, strides: s.strides ?? window.map { max(1, $0 / 2) }, baseline: s.baseline ?? .zeros)
            method.perturbationsPerEvaluation = s.perturbationsPerEvaluation
            return method
        },
        portable("feature-ablation", "output drop when each feature group is replaced by the baseline", options: groupOptions) { model, shape, s in
            var method = FeatureAblation(model, baseline: s.baseline ?? .zeros, featureMask: try groups(shape, s, method: "feature-ablation"))
            method.perturbationsPerEvaluation = s.perturbationsPerEvaluation
            return method
        },
        portable("shapley-value-sampling", "Shapley values from random orderings of feature groups (Castro et al. 2009)",
                     options: groupOptions + [.samples]) { model, shape, s in
            ShapleyValueSampling(model, baseline: s.baseline ?? .zeros, featureMask: try groups(shape, s, method: "shapley-value-sampling"),
                                 samples: s.samples ?? shapleySamples, seed: s.seed)
        },
        portable("kernel-shap", "Shapley values by kernel-weighted regression (Lundberg & Lee 2017)", options: groupOptions + [.samples]) { model, shape, s in
            let mask = try groups(shape, s, method: "kernel-shap")
            var method = KernelSHAP(model, baseline: s.baseline ?? .zeros, featureMask: mask,
                                    samples: try coalitions(s.samples ?? surrogateSamples, mask: mask, featureShape: shape, method: "kernel-shap"), seed: s.seed)
            method.perturbationsPerEvaluation = s.perturbationsPerEvaluation
            return method
        },
        portable("lime", "weighted linear surrogate on random coalitions (Ribeiro et al. 2016)",
                     options: groupOptions + [.samples, .kernelWidth]) { model, shape, s in
            let mask = try groups(shape, s, method: "lime")
            var method = LIME(model, baseline: s.baseline ?? .zeros, featureMask: mask,
                              samples: try coalitions(s.samples ?? surrogateSamples, mask: mask, featureShape: shape, method: "lime"), seed: s.seed)
            method.kernelWidth = s.kernelWidth
            method.perturbationsPerEvaluation = s.perturbationsPerEvaluation
            return method
        },
        layerMethod("layer-activation", "the activation at --layer", options: [.layer]) { model, _, s in
            LayerActivation(model, hookPoint: try layer(s, model))
        },
        layerMethod("layer-integrated-gradients", "Integrated Gradients in --layer's activation space",
                    options: [.layer, .steps, .rule, .baseline, .internalBatchSize]) { model, shape, s in
            var method = LayerIntegratedGradients(model, hookPoint: try layer(s, model))
            try path(&method.steps, &method.rule, &method.baseline, &method.internalBatchSize, s, featureShape: shape)
            return method
        },
        layerMethod("layer-conductance", "IG flowing through each unit of --layer (Dhamdhere et al. 2018)",
                    options: [.layer, .steps, .rule, .baseline, .internalBatchSize]) { model, shape, s in
            var method = LayerConductance(model, hookPoint: try layer(s, model))
            try path(&method.steps, &method.rule, &method.baseline, &method.internalBatchSize, s, featureShape: shape)
            return method
        },
        layerMethod("neuron-gradient", "gradient of one --neuron at --layer", options: [.layer, .neuron]) { model, _, s in
            NeuronGradient(model, neuron: try neuron(s))
        },
        layerMethod("neuron-integrated-gradients", "Integrated Gradients of one --neuron at --layer",
                    options: [.layer, .neuron, .steps, .rule, .baseline, .internalBatchSize]) { model, shape, s in
            var method = NeuronIntegratedGradients(model, neuron: try neuron(s))
            try path(&method.steps, &method.rule, &method.baseline, &method.internalBatchSize, s, featureShape: shape)
            return method
        },
    ]

    public static var names: [String] { entries.map(\.name) }
    /// The methods `score` and `sanity-check` take.
    public static var scorableNames: [String] { entries.filter(\.isScorable).map(\.name) }

    public static func entry(named name: String) throws -> MethodEntry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw TorchError("unknown method '\(name)'; known: \(names.joined(separator: ", "))")
        }
        return entry
    }

    /// Checks that `settings` fit the method (options it takes, options it needs) before anything runs.
    public static func validate(_ settings: MethodSettings, for name: String) throws {
        let entry = try entry(named: name)
        let stray = settings.given.subtracting(entry.options)
        if let first = stray.map(\.rawValue).sorted().first {
            let takes = entry.options.isEmpty ? "no options" : entry.options.map { "--\($0.rawValue)" }.sorted().joined(separator: ", ")
            throw TorchError("--\(first) does not apply to \(name) (it takes: \(takes))")
        }
        if entry.options.contains(.neuron), settings.neuron == nil { throw TorchError("\(name) needs --neuron (an index such as 5)") }
        if entry.options.contains(.neuron), settings.layer == nil { throw TorchError("\(name) needs --layer (the hook point of the neuron)") }
        if settings.featureMask != nil, settings.patch != nil { throw TorchError("give --feature-mask or --patch, not both") }
        for (option, value, maximum) in [("steps", settings.steps, maximumSteps), ("samples", settings.samples, maximumSamples),
                                         ("internal-batch-size", settings.internalBatchSize, maximumBatchRows), ("patch", settings.patch, 1 << 16)] {
            if let value { try Limits.check(value, "--\(option)", in: 1...maximum) }
        }
        if let deviation = settings.standardDeviation, !(deviation >= 0 && deviation.isFinite) {
            throw TorchError("--stdev must be a finite number ≥ 0")
        }
        if let width = settings.kernelWidth, !(width > 0 && width.isFinite) { throw TorchError("--kernel-width must be positive") }
    }

    /// The method `name` on `model` for inputs of one example's shape `featureShape`.
    public static func method(named name: String, model: Explainable, featureShape: [Int],
                              settings: MethodSettings = MethodSettings()) throws -> AttributionMethod {
        let entry = try entry(named: name)
        try validate(settings, for: name)
        if let reason = entry.nativeModelReason, model.module == nil {
            let portable = entries.filter { !$0.needsNativeModel }.map(\.name).joined(separator: ", ")
            throw TorchError("\(name) needs a native Glassbox model (\(reason)); this model is TorchScript or a function. Methods that run on it: \(portable)")
        }
        return try entry.make(model, featureShape, settings)
    }

    /// Occlusion's window: every channel and 4×4 pixels for images (C, H, W), one feature otherwise.
    public static func defaultWindow(featureShape: [Int]) -> [Int] {
        featureShape.count == 3 ? [featureShape[0], min(4, featureShape[1]), min(4, featureShape[2])] : featureShape.map { _ in 1 }
    }

    /// The patch size that cuts an image into a 7×7 grid (4 pixels on MNIST, 32 on 224×224).
    public static func defaultPatch(featureShape: [Int]) -> Int? {
        featureShape.count == 3 ? max(1, featureShape[1] / 7) : nil
    }

    /// Grad-CAM's usual layer: a ResNet's last stage, else the last convolution.
    public static func defaultLayer(of module: Module) -> String? {
        if module is ResNet18 { return "layer4" }
        return module.namedModules().last { $0.module is Conv2d }?.path
    }

    /// Square patches of `patch` pixels over (1, height, width), numbered row by row.
    public static func patchMask(height: Int, width: Int, patch: Int) throws -> Tensor {
        let across = (width + patch - 1) / patch
        let rows = try Tensor.arange(0, Double(height)).floorDivide(Double(patch)).unsqueezed(dim: 1) * Double(across)
        let columns = try Tensor.arange(0, Double(width)).floorDivide(Double(patch)).unsqueezed(dim: 0)
        return try (rows + columns).unsqueezed(dim: 0)
    }

    // MARK: - Building entries

    static let groupOptions: [MethodOption] = [.featureMask, .patch, .baseline]

    /// A method that runs on any model: gradients and perturbations.
    static func portable(_ name: String, _ summary: String, options: [MethodOption] = [],
                         _ make: @escaping @Sendable (Explainable, [Int], MethodSettings) throws -> AttributionMethod) -> MethodEntry {
        MethodEntry(name: name, summary: summary, nativeModelReason: nil, options: options, isScorable: true, make: make)
    }

    static func native(_ name: String, _ summary: String, reason: String, options: [MethodOption] = [],
                       _ make: @escaping @Sendable (Explainable, [Int], MethodSettings) throws -> AttributionMethod) -> MethodEntry {
        MethodEntry(name: name, summary: summary, nativeModelReason: reason, options: options, isScorable: true, make: make)
    }

    static func layerMethod(_ name: String, _ summary: String, options: [MethodOption],
                            _ make: @escaping @Sendable (Explainable, [Int], MethodSettings) throws -> AttributionMethod) -> MethodEntry {
        MethodEntry(name: name, summary: summary, nativeModelReason: "it reads a hook point", options: options, isScorable: false, make: make)
    }

    static func noiseTunnel(_ name: String, _ summary: String, _ kind: NoiseTunnel.Kind) -> MethodEntry {
        portable(name, summary, options: [.samples, .stdev]) { model, _, s in
            var method = NoiseTunnel(Saliency(model, absoluteValue: false), kind: kind, samples: s.samples ?? noiseSamples,
                                     standardDeviation: s.standardDeviation ?? standardDeviation, seed: s.seed)
            method.samplesPerBatch = s.samplesPerBatch
            return method
        }
    }

    static func path(_ steps: inout Int, _ rule: inout IntegrationRule, _ baseline: inout Baseline, _ batch: inout Int?,
                     _ s: MethodSettings, featureShape: [Int]) throws {
        steps = s.steps ?? Self.steps
        rule = s.rule ?? .gaussLegendre
        baseline = s.baseline ?? .zeros
        batch = s.internalBatchSize ?? pathBatchSize(featureShape: featureShape)
    }

    static func layer(_ s: MethodSettings, _ model: Explainable) throws -> String {
        if let layer = s.layer { return layer }
        guard let module = model.module, let layer = defaultLayer(of: module) else {
            throw TorchError("give --layer (a hook point): this model has no convolution to default to")
        }
        return layer
    }

    static func neuron(_ s: MethodSettings) throws -> Neuron {
        guard let index = s.neuron else { throw TorchError("give --neuron (an index such as 5)") }
        guard let layer = s.layer else { throw TorchError("give --layer (a hook point) for the neuron") }
        return Neuron(layer, index)
    }

    /// A surrogate's coalitions, refused when too few to determine its linear fit (groups + 1 coefficients).
    static func coalitions(_ samples: Int, mask: Tensor?, featureShape: [Int], method: String) throws -> Int {
        let groups = try mask.map { try Int($0.max().item()) + 1 } ?? featureShape.reduce(1, *)
        guard samples > groups else {
            throw TorchError("\(method) fits \(groups + 1) coefficients (\(groups) feature groups and an intercept), so it needs more than \(groups) coalitions; got --samples \(samples)")
        }
        return samples
    }

    /// Feature groups: a given mask, given patches, or (by default) a 7×7 grid on images and single
    /// features otherwise, refusing more than `maximumUngroupedFeatures` single features.
    static func groups(_ featureShape: [Int], _ s: MethodSettings, method: String) throws -> Tensor? {
        if let mask = s.featureMask { return mask }
        if let patch = s.patch ?? defaultPatch(featureShape: featureShape) {
            guard featureShape.count == 3 else { throw TorchError("--patch needs image inputs (C, H, W), got \(featureShape)") }
            guard patch <= max(featureShape[1], featureShape[2]) else {
                throw TorchError("--patch \(patch) is larger than the image (\(featureShape[2])×\(featureShape[1]))")
            }
            return try patchMask(height: featureShape[1], width: featureShape[2], patch: patch).expanded(to: featureShape).contiguous()
        }
        let count = featureShape.reduce(1, *)
        if count > maximumUngroupedFeatures {
            throw TorchError("\(method) would treat each of the \(count) input features as a player; group them with --patch N or --feature-mask")
        }
        return nil
    }
}
