import ArgumentParser
import ExplanationCore
import Attribution
import Foundation
import Runs
import Report
import Torch

struct Attribute: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a model's predictions with an attribution method; writes arrays and heat maps.",
        discussion: paragraphs("""
        Writes to --out: attributions.safetensors (one tensor per input), <input>.<method>.npy, and for image-shaped
        attributions <input>.<method>.png (heat map) and <input>.<method>.blended.png (over the input).
        `glassbox attribute --list` names the methods and the options each takes.
        Methods marked "native" need a Glassbox model (they use hook points or ReLU modules); the rest also run TorchScript models.
        """)
    )

    @Flag(help: "List the methods and their options, then exit.") var list = false
    @Option(help: "A Glassbox model.safetensors, a torchvision ResNet-18 state dict (safetensors) or a TorchScript file.") var model: String?
    @Option(name: .customLong("input"), parsing: .upToNextOption, help: "Input files: .png, .npy or .safetensors.") var inputs: [String] = []
    @Option(help: "A text to explain with a text classifier from `glassbox text train` (repeatable; instead of --input).") var text: [String] = []
    @Option(help: "A UTF-8 file of texts, one per line, for a text classifier.") var texts: String?
    @Option(help: "Class to explain: a number, a comma-separated number per example, or 'predicted'.") var target = "predicted"
    @Option(help: "Method name (see --list).") var method: String?
    @Option(help: "Output folder.") var out = "runs/attribute"

    @Option(parsing: .unconditional, help: ArgumentHelp(MethodOption.steps.help)) var steps: Int?
    @Option(help: ArgumentHelp(MethodOption.rule.help)) var rule: String?
    @Option(help: ArgumentHelp(MethodOption.baseline.help)) var baseline: String?
    @Option(parsing: .unconditional, help: ArgumentHelp(MethodOption.internalBatchSize.help)) var internalBatchSize: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp(MethodOption.samples.help)) var samples: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp(MethodOption.stdev.help)) var stdev: Double?
    @Option(help: ArgumentHelp(MethodOption.layer.help)) var layer: String?
    @Option(help: ArgumentHelp(MethodOption.neuron.help)) var neuron: String?
    @Option(help: ArgumentHelp(MethodOption.window.help)) var window: String?
    @Option(help: ArgumentHelp(MethodOption.strides.help)) var strides: String?
    @Option(help: ArgumentHelp(MethodOption.featureMask.help)) var featureMask: String?
    @Option(parsing: .unconditional, help: ArgumentHelp(MethodOption.patch.help)) var patch: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp(MethodOption.kernelWidth.help)) var kernelWidth: Double?
    @Flag(help: ArgumentHelp(MethodOption.signed.help)) var signed = false
    @Flag(help: ArgumentHelp(MethodOption.noRelu.help)) var noRelu = false

    @Option(help: ArgumentHelp(InputNormalization.help)) var normalize: String?
    @Option(help: "Heat-map sign: all, positive, negative, absolute_value.") var sign = "absolute_value"
    @Option(parsing: .unconditional, help: "Percent of attribution mass clipped as outliers in heat maps.") var outlierPercent = 2.0
    @OptionGroup var common: CommonOptions

    /// The method settings the flags give; without `readingFiles`, a file baseline or feature mask
    /// is only marked as given.
    func settings(readingFiles: Bool = true) throws -> MethodSettings {
        var settings = MethodSettings(seed: common.seed)
        (settings.steps, settings.internalBatchSize, settings.samples, settings.standardDeviation) = (steps, internalBatchSize, samples, stdev)
        (settings.layer, settings.patch, settings.kernelWidth, settings.signed, settings.noReLU) = (layer, patch, kernelWidth, signed, noRelu)
        if let rule {
            guard let parsed = IntegrationRule(rawValue: rule) else {
                throw TorchError("unknown --rule '\(rule)'; use \(IntegrationRule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            settings.rule = parsed
        }
        settings.neuron = try neuron.map { try parseList($0, "neuron") }
        settings.window = try window.map { try parseList($0, "window") }
        settings.strides = try strides.map { try parseList($0, "strides") }
        settings.baseline = try baseline.map { readingFiles || !$0.hasSuffix(".npy") ? try AttributionFiles.baseline($0, seed: common.seed) : .zeros }
        settings.featureMask = try featureMask.map { readingFiles ? try NumpyFile.read($0) : try Tensor.zeros([1]) }
        return settings
    }

    func validate() throws {
        if list { return }
        guard model != nil else { throw ValidationError("--model is required") }
        let textual = !text.isEmpty || texts != nil
        guard !inputs.isEmpty || textual else { throw ValidationError("give at least one --input file (or --text/--texts for a text classifier)") }
        if !inputs.isEmpty && textual { throw ValidationError("give --input files or texts, not both") }
        guard let method else { throw ValidationError("--method is required; `glassbox attribute --list` names them") }
        if out.isEmpty { throw ValidationError("--out must name a folder") }
        try asUsageError { try MethodCatalog.validate(settings(readingFiles: false), for: method) }
        try validateNormalization(normalize)
        if Heatmap.Sign(rawValue: sign) == nil { throw ValidationError("--sign must be all, positive, negative or absolute_value") }
        if !(outlierPercent >= 0 && outlierPercent < 100) { throw ValidationError("--outlier-percent must be at least 0 and below 100 (clipping all of the attribution mass leaves no map)") }
    }

    func run() throws {
        if list { return printList() }
        try common.apply()
        if !text.isEmpty || texts != nil { return try explainTexts() }
        let loaded = try ModelFile.load(model!)
        try AttributionFiles.checkDistinct(inputs)
        let settings = try settings()
        // Compute everything first, so an error on any input leaves no files behind.
        let normalization = try normalize.map(InputNormalization.init(parsing:))
        var entries: [AttributionFiles.Entry] = []
        for path in inputs {
            let (batch, names) = try loaded.inputs(from: path)
            let input = try normalization?(batch) ?? batch
            let targets = try AttributionFiles.targets(target, batch: input, model: loaded)
            let attributor = try MethodCatalog.method(named: method!, model: loaded.model, featureShape: Array(input.shape.dropFirst()),
                                                      settings: settings)
            let attribution = try showingProgress(delay: 1, prefix: "\(method!) on \((path as NSString).lastPathComponent)") {
                try attributor.attribute(input, target: .indices(targets))
            }
            entries.append(.init(path: path, batch: batch, names: names, targets: targets, attribution: attribution))
        }
        let files = AttributionFiles(sign: Heatmap.Sign(rawValue: sign)!, outlierPercent: outlierPercent)
        try files.write(entries, method: method!, model: model!, to: out).forEach { print($0) }
        print("wrote \(out)/attributions.safetensors and per-input files")
    }

    /// Token scores of a text classifier (tokens.json, tokens.html).
    func explainTexts() throws {
        let file = try TextModelFile.load(model!)
        let targetClass: Int? = target == "predicted" ? nil : try Int(target).orThrow(TorchError("--target for texts is a class number or 'predicted'"))
        let records = try showingProgress(delay: 1) {
            try TokenAttribution.catalog(method: method!, settings: settings(), texts: textsFrom(text, file: texts), file: file, targetClass: targetClass, out: out)
        }
        for record in records {
            let scores = record.scores[method!] ?? []
            print("\(record.predicted) (\(String(format: "%.1f%%", 100 * record.probability))): " + zip(record.tokens, scores).map { "\($0) \(String(format: "%.3g", $1))" }.joined(separator: ", "))
        }
        print("wrote \(out)/tokens.json and \(out)/tokens.html")
    }

    func printList() {
        print("Methods (native = needs a Glassbox model; the rest also run TorchScript):\n")
        for entry in MethodCatalog.entries {
            print("  \(entry.name.padding(toLength: 28, withPad: " ", startingAt: 0))\(entry.needsNativeModel ? "native  " : "        ")\(entry.summary)")
            if !entry.options.isEmpty {
                print(String(repeating: " ", count: 38) + "options: " + entry.options.map { "--\($0.rawValue)" }.joined(separator: " "))
            }
        }
        print("\nOptions and their defaults:")
        for option in MethodOption.allCases { print("  --\(option.rawValue.padding(toLength: 21, withPad: " ", startingAt: 0)) \(option.help)") }
        print("\nCommon: --target N|N,N,…|predicted, --out DIR, --sign, --outlier-percent, --normalize, --seed, --threads")
    }

    func parseList(_ text: String, _ flag: String) throws -> [Int] {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw TorchError("--\(flag) takes comma-separated non-negative integers, got '\(text)'")
        }
        return values.map { $0! }
    }
}

extension Optional {
    /// The value, or the error when there is none.
    func orThrow(_ error: @autoclosure () -> Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
