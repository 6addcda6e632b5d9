import ArgumentParser
import ExplanationCore
import Datasets
import Foundation
import Runs
import Torch
import Visualization

struct VisualizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visualize",
        abstract: "Feature visualisation: images that maximise units, channels, layers (DeepDream's objective) or classes, and the first convolution's filters.",
        discussion: paragraphs("""
        Objectives (one image each, optimised together): HOOK:channel:C (a feature map's mean), HOOK:neuron:C[@Y,X] (one unit; the
        centre of a feature map by default), HOOK:layer (mean square of a layer), logit:K, probability:K (log-softmax), and weighted
        sums such as 0.5*9:neuron:3+0.5*logit:7. Hook points of the demo CNN: 0 … 10 (see `glassbox attribute --help`); a TorchScript
        model offers logit and probability only. Parametrisations: fourier (decorrelated spectrum, colour-decorrelated for 3 channels;
        Olah et al. 2017) or pixels. Every step applies random jitter, rescaling and rotation (and blur with --blur). --copies N
        makes N images per objective; --diversity HOOK[:WEIGHT] pushes them apart (cosine similarity of their Gram matrices at
        that hook point). With --normalize the normalisation runs inside the model, so images stay in [0, 1]. Writes
        visualize.json, visualize.html and images.safetensors to --out. DeepDream on a given image: `glassbox dream`; inversion:
        `glassbox invert`; the deep image prior: `glassbox dip`.
        """)
    )

    @Option(help: "A Glassbox model file or a TorchScript file.") var model: String
    @Option(name: .customLong("objective"), help: "An objective (repeat for more images).") var objectives: [String] = []
    @Option(help: "fourier or pixels.") var parametrization: String = VisualizationRun.Settings().parametrization.rawValue
    @Option(help: "Optimisation steps.") var steps = VisualizationRun.Settings().steps
    @Option(help: "Adam's learning rate.") var learningRate = VisualizationRun.Settings().learningRate
    @Flag(help: "Anneal the learning rate to 0 (cosine) over the steps.") var anneal = false
    @Option(help: "Random shift of up to this many pixels each step (0: none).") var jitter = ImageTransforms().jitter
    @Option(help: "Random rescaling factors, comma-separated (1: none).") var scales = ImageTransforms().scales.map { String(format: "%g", $0) }.joined(separator: ",")
    @Option(help: "Random rotation angles in degrees, comma-separated (0: none).") var rotations = ImageTransforms().rotations.map { String(format: "%g", $0) }.joined(separator: ",")
    @Option(help: "Random Gaussian blur of σ up to this many pixels (0: none).") var blur = ImageTransforms().blur
    @Option(help: "Images per objective.") var copies = 1
    @Option(help: "HOOK[:WEIGHT]: push images of the same objective apart at this hook point (weight 1 by default).") var diversity: String?
    @Option(help: "Weight of the mean squared distance from mid-grey.") var l2 = 0.0
    @Option(help: "Weight of the mean absolute distance from mid-grey.") var l1 = 0.0
    @Option(help: "Weight of the total variation.") var tv = 0.0
    @Option(help: "One input's shape C,H,W, for a model file that does not say (TorchScript).") var inputShape: String?
    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @Option(help: "Output folder.") var out = "runs/visualize"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard !objectives.isEmpty else { throw ValidationError("name at least one --objective (e.g. 1:channel:3 or logit:7)") }
        guard (1...16).contains(copies), objectives.count * copies <= 64 else { throw ValidationError("--copies 1…16, and at most 64 images (objectives × copies) at once") }
        for objective in objectives { try asUsageError { _ = try FeatureObjective(parsing: objective) } }
        guard ImageParametrization(rawValue: parametrization) != nil else { throw ValidationError("--parametrization is fourier or pixels") }
        guard (1...100_000).contains(steps), learningRate > 0, l2 >= 0, l1 >= 0, tv >= 0, (0...64).contains(jitter) else {
            throw ValidationError("--steps 1…100,000, --learning-rate > 0, --l2, --l1 and --tv ≥ 0, --jitter 0…64")
        }
        guard parsedScales() != nil else { throw ValidationError("--scales takes comma-separated factors in [0.25, 4]") }
        guard parsedRotations() != nil else { throw ValidationError("--rotations takes comma-separated angles in [-180, 180] degrees") }
        guard (0...16).contains(blur) else { throw ValidationError("--blur is a standard deviation in pixels, 0…16") }
        if let diversity {
            guard parsedDiversity(diversity) != nil else { throw ValidationError("--diversity is HOOK or HOOK:WEIGHT with a weight ≥ 0, got '\(diversity)'") }
            guard copies >= 2 else { throw ValidationError("--diversity pushes copies of an objective apart: add --copies 2 or more") }
        }
        if let inputShape, parsedShape(inputShape) == nil { throw ValidationError("--input-shape is C,H,W with H, W ≥ 2, got '\(inputShape)'") }
        try validateNormalization(normalize)
    }

    func parsedScales() -> [Double]? {
        let values = scales.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        return !values.isEmpty && values.allSatisfy({ $0 != nil && (0.25...4).contains($0!) }) ? values.map { $0! } : nil
    }

    func parsedRotations() -> [Double]? {
        let values = rotations.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        return !values.isEmpty && values.allSatisfy({ $0 != nil && (-180...180).contains($0!) }) ? values.map { $0! } : nil
    }

    func parsedDiversity(_ text: String) -> Diversity? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let point = parts.first, !point.isEmpty, parts.count <= 2 else { return nil }
        guard parts.count == 2 else { return Diversity(hookPoint: point) }
        guard let weight = Double(parts[1]), weight >= 0, weight.isFinite else { return nil }
        return Diversity(hookPoint: point, weight: weight)
    }

    func parsedShape(_ text: String) -> [Int]? {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 3, values.allSatisfy({ $0 != nil }), values[0]! >= 1, values[1]! >= 2, values[2]! >= 2, values[1]! <= 1024, values[2]! <= 1024 else { return nil }
        return values.map { $0! }
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        guard let shape = inputShape.flatMap(parsedShape) ?? loaded.inputShape, shape.count == 3 else {
            throw ValidationError("this model file does not say its input shape; pass --input-shape C,H,W")
        }
        var settings = VisualizationRun.Settings()
        (settings.parametrization, settings.steps, settings.learningRate, settings.annealing) = (ImageParametrization(rawValue: parametrization)!, steps, learningRate, anneal)
        let transforms = ImageTransforms(jitter: jitter, scales: parsedScales()!, rotations: parsedRotations()!, blur: blur)
        (settings.transforms, settings.l2Penalty, settings.l1Penalty, settings.totalVariation) = (transforms, l2, l1, tv)
        (settings.copies, settings.diversity) = (copies, diversity.flatMap(parsedDiversity))
        let normalization = try normalize.map(InputNormalization.init(parsing:))
        let record = try showingProgress {
            try VisualizationRun.run(loaded.model, named: (model as NSString).lastPathComponent, objectives: objectives.map(FeatureObjective.init(parsing:)),
                                     imageShape: shape, preprocess: normalization.map { n in { try n($0) } }, settings: settings, seed: common.seed, out: out)
        }
        for (objective, value) in zip(record.objectives, record.values) { print(String(format: "%@: %.4f", objective, value)) }
        print(String(format: "%.1f s; page: %@/visualize.html", record.seconds, out))
    }
}

struct InvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invert",
        abstract: "Invert one image's representation at several layers from noise (Mahendran & Vedaldi 2015), shallow to deep.",
        discussion: "Minimises ‖φ(x) − φ(x₀)‖²/‖φ(x₀)‖² + λ·TV(x) for each --layers hook point (\"output\" for the model's output), all in one batch. The image: --input FILE (one image), or the bundled MNIST test digit --index. Writes invert.json, invert.html and reconstructions.safetensors to --out. Hook points of the demo CNN: 0 … 10."
    )

    @Option(help: "A Glassbox model file or a TorchScript file (output only).") var model: String
    @Option(help: "Hook points, comma-separated, shallow to deep.") var layers = "0,2,5,8,output"
    @OptionGroup var imageSource: SingleImageOptions
    @Option(help: "Optimisation steps.") var steps = 400
    @Option(help: "λ, the weight of the total variation.") var tv = 0.02
    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @Option(help: "Output folder.") var out = "runs/invert"
    @OptionGroup var common: CommonOptions

    var parsedLayers: [String] { commaSeparated(layers) }

    func validate() throws {
        guard !parsedLayers.isEmpty, parsedLayers.count <= 32 else { throw ValidationError("--layers takes 1 to 32 comma-separated hook points") }
        guard (1...100_000).contains(steps), tv >= 0 else { throw ValidationError("--steps 1…100,000, --tv ≥ 0") }
        try validateNormalization(normalize)
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        let (image, imageName) = try imageSource.load(for: loaded)
        let normalization = try normalize.map(InputNormalization.init(parsing:))
        let record = try showingProgress {
            try InversionRun.run(loaded.model, named: (model as NSString).lastPathComponent, image: image, imageName: imageName, layers: parsedLayers,
                                 steps: steps, totalVariation: tv, preprocess: normalization.map { n in { try n($0) } }, seed: common.seed, out: out)
        }
        for (index, layer) in record.layers.enumerated() {
            print(String(format: "%@: representation error %.3f, distance from the image %.3f", layer, record.representationErrors[index], record.imageErrors[index]))
        }
        print(String(format: "%.1f s; page: %@/invert.html", record.seconds, out))
    }
}

struct DeepImagePriorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dip",
        abstract: "The deep image prior (Ulyanov et al. 2018): fit an image, noise and shuffled pixels; inpaint; denoise with early stopping; invert a layer.",
        discussion: paragraphs("""
        An untrained encoder–decoder with skip connections is fitted to one image from a fixed noise code. fit: the image, a
        pixel-shuffled copy and uniform noise side by side (a natural image is fitted long before noise); inpaint: a square in the
        middle is hidden from the loss and filled in by the network; denoise: Gaussian noise (--noise) is added, and the output's
        PSNR against the clean image is tracked (it peaks, then falls as the network fits the noise: stop early); invert: --model's
        representation of the image at --layer is inverted by optimising the network's weights (the prior as regulariser), beside
        the pixel inversion under total variation (--tv) with the same steps. The image: --input FILE (.png/.npy/.safetensors,
        values in [0, 1]) or the bundled MNIST test digit --index. Writes dip.json and dip.html to --out.
        """)
    )

    @Argument(help: "fit, inpaint, denoise or invert.") var task: String
    @Option(help: "invert: a Glassbox model file (or a TorchScript file with --layer output).") var model: String?
    @Option(help: "invert: the hook point (\"output\" for the model's output).") var layer = "5"
    @Option(help: "invert: λ of the pixel inversion it is compared with.") var tv = 0.02
    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @OptionGroup var imageSource: SingleImageOptions
    @Option(help: "Optimisation steps.") var steps = 1500
    @Option(help: "Adam's learning rate.") var learningRate = 0.01
    @Option(help: "Channels per level of the network.") var width = 64
    @Option(help: "Levels (each halves the size).") var levels = 3
    @Option(help: "denoise: the noise's standard deviation.") var noise = 0.1
    @Option(help: "Output folder.") var out = "runs/dip"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard let parsed = DeepImagePriorRun.Task(rawValue: task) else { throw ValidationError("the task is fit, inpaint, denoise or invert, got '\(task)'") }
        if parsed == .invert, model == nil { throw ValidationError("dip invert needs --model (and --layer)") }
        if parsed != .invert, model != nil { throw ValidationError("--model is for dip invert only") }
        guard tv >= 0 else { throw ValidationError("--tv must be ≥ 0") }
        try validateNormalization(normalize)
        guard (1...100_000).contains(steps), learningRate > 0, (4...512).contains(width), (1...6).contains(levels), noise > 0, noise < 1 else {
            throw ValidationError("--steps 1…100,000, --learning-rate > 0, --width 4…512, --levels 1…6, --noise in (0, 1)")
        }
    }

    func run() throws {
        try common.apply()
        let loaded = try model.map(ModelFile.load)
        let (image, name) = try imageSource.load(for: loaded)
        var target = loaded.map { DeepImagePriorRun.InversionTarget(model: $0.model, layer: layer) }
        target?.totalVariation = tv
        target?.preprocess = try normalize.map(InputNormalization.init(parsing:)).map { n in { try n($0) } }
        var prior = DeepImagePrior()
        (prior.steps, prior.learningRate, prior.width, prior.levels, prior.seed) = (steps, learningRate, width, levels, common.seed)
        let record = try showingProgress { try DeepImagePriorRun.run(DeepImagePriorRun.Task(rawValue: task)!, image: image, imageName: name, prior: prior, noise: noise,
                                                                    inverting: target, seed: common.seed, out: out) }
        if let fit = record.stepsToFit {
            for (target, step) in fit.sorted(by: { $0.key < $1.key }) { print("\(target): MSE below 0.001 \(step.map { "at step \($0)" } ?? "not within \(steps) steps")") }
        }
        if let hidden = record.hiddenError, let fill = record.meanFillError { print(String(format: "hidden square: MSE %.4f (mean fill %.4f)", hidden, fill)) }
        if let noisy = record.noisyPSNR, let best = record.bestPSNR, let last = record.finalPSNR {
            print(String(format: "PSNR: noisy %.2f dB, best %.2f dB at step %d, last %.2f dB", noisy, best, record.bestStep ?? 0, last))
        }
        if let layer = record.layer, let prior = record.priorErrors, let plain = record.totalVariationErrors {
            print(String(format: "layer %@: deep image prior: representation error %.3f, distance from the image %.3f; pixels + TV: %.3f, %.3f", layer, prior.representation, prior.image, plain.representation, plain.image))
        }
        print(String(format: "%.1f s; page: %@/dip.html", record.seconds, out))
    }
}

struct DreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dream",
        abstract: "DeepDream (Mordvintsev et al. 2015): amplify what a layer sees in an image, over octaves.",
        discussion: "Gradient ascent on --objective (default: the mean square of a layer, HOOK:layer) from the image itself, from a small scale up; steps normalised by the gradient's mean size, with jitter. The image: --input FILE or the bundled MNIST test digit --index. Writes dream.png (image and dream), dream.json and dream.safetensors to --out."
    )

    @Option(help: "A Glassbox model file.") var model: String
    @Option(help: "The objective (see `glassbox visualize --help`).") var objective = "3:layer"
    @OptionGroup var imageSource: SingleImageOptions
    @Option(help: "Octaves.") var octaves = DeepDream.Settings().octaves
    @Option(help: "Scale between octaves.") var octaveScale = DeepDream.Settings().octaveScale
    @Option(help: "Steps per octave.") var steps = DeepDream.Settings().stepsPerOctave
    @Option(help: "Step size (per normalised gradient).") var stepSize = DeepDream.Settings().stepSize
    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @Option(help: "Output folder.") var out = "runs/dream"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        try asUsageError { _ = try FeatureObjective(parsing: objective) }
        guard (1...10).contains(octaves), octaveScale >= 1, octaveScale <= 4, (1...10_000).contains(steps), stepSize > 0 else {
            throw ValidationError("--octaves 1…10, --octave-scale 1…4, --steps 1…10,000, --step-size > 0")
        }
        try validateNormalization(normalize)
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        let (image, name) = try imageSource.load(for: loaded)
        var dream = DeepDream(loaded.model, objective: try FeatureObjective(parsing: objective))
        (dream.settings.octaves, dream.settings.octaveScale, dream.settings.stepsPerOctave, dream.settings.stepSize, dream.seed) = (octaves, octaveScale, steps, stepSize, common.seed)
        let normalization = try normalize.map(InputNormalization.init(parsing:))
        dream.preprocess = normalization.map { n in { try n($0) } }
        let record = try VisualizationRun.dream(dream, named: (model as NSString).lastPathComponent, image: image, imageName: name, out: out)
        print(String(format: "%@: %.4f on the image, %.4f on the dream (%.1f s); wrote %@/dream.png", record.objective, record.before, record.after, record.seconds, out))
    }
}

struct ActivationsMaps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maps",
        abstract: "One image's feature maps at chosen layers, channel by channel.",
        discussion: "Every channel of each --layers hook point (convolutional layers: (N, C, H, W) activations) for one image, drawn on one diverging scale per layer. The image: --input FILE (one image) or the bundled MNIST test digit --index. Writes activations.html, activations.json (each channel's mean) and maps.safetensors to --out. Hook points of the demo CNN: 0 … 10; a torchvision ResNet-18: conv1, layer1.0.relu2, …"
    )

    @Option(help: "A Glassbox model file.") var model: String
    @Option(help: "Hook points, comma-separated.") var layers = "1,4"
    @OptionGroup var imageSource: SingleImageOptions
    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @Option(help: "Output folder.") var out = "runs/activation-maps"
    @OptionGroup var common: CommonOptions

    var parsedLayers: [String] { commaSeparated(layers) }

    func validate() throws {
        guard !parsedLayers.isEmpty, parsedLayers.count <= 16 else { throw ValidationError("--layers takes 1 to 16 comma-separated hook points") }
        try validateNormalization(normalize)
    }

    func run() throws {
        try common.apply()
        let loaded = try ModelFile.load(model)
        let (image, imageName) = try imageSource.load(for: loaded)
        var maps = ActivationMaps(loaded.model, hookPoints: parsedLayers)
        maps.preprocess = try normalize.map(InputNormalization.init(parsing:)).map { n in { try n($0) } }
        let record = try ActivationMapsRun.run(maps, named: (model as NSString).lastPathComponent, image: image, imageName: imageName, out: out)
        for layer in record.layers {
            let strongest = layer.means.indices.max { layer.means[$0] < layer.means[$1] } ?? 0
            print(String(format: "%@: %d channels of %d×%d; highest mean: channel %d (%.3f)", layer.hookPoint, layer.channels, layer.height, layer.width, strongest, layer.means[strongest]))
        }
        print(String(format: "%.1f s; page: %@/activations.html", record.seconds, out))
    }
}

/// The one image invert, dream, dip and activations maps work on: a file, or a bundled digit.
struct SingleImageOptions: ParsableArguments {
    @Option(help: "The image: .png/.npy/.safetensors holding one image.") var input: String?
    @Option(help: "Without --input: which bundled MNIST test digit.") var index = 0

    func validate() throws { guard index >= 0 else { throw ValidationError("--index must be ≥ 0") } }

    /// The image (read as `model` expects, when given) and a name for pages.
    func load(for model: LoadedModel?) throws -> (image: Tensor, name: String) { try SingleImage.load(file: input, digit: index, model: model) }
}

/// The non-empty, trimmed items of a comma-separated list.
func commaSeparated(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}
