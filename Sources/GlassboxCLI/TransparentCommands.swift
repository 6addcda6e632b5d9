import ArgumentParser
import Concepts
import Foundation
import NN
import Runs
import Torch
import Transparent

struct TransparentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transparent",
        abstract: "Transparent models as baselines: linear weights as images, decision trees, nearest neighbours, and how far they fall behind the network.",
        subcommands: [TransparentLinear.self, TransparentTree.self, TransparentKNN.self, TransparentCompare.self]
    )
}

extension TransparentDataset: ExpressibleByArgument {}
extension FeatureSpace: ExpressibleByArgument {}
extension LogisticRegression.Penalty: ExpressibleByArgument {}
extension DecisionTree.Criterion: ExpressibleByArgument {}
extension NearestNeighbors.Metric: ExpressibleByArgument {}

/// Which table, which columns.
struct TransparentDataFlags: ParsableArguments {
    @Option(help: "mnist (the bundled digits, or --data), breast-cancer (bundled), or csv (--csv).") var dataset: TransparentDataset = .mnist
    @Option(help: "pixels (the raw inputs: pixels, or a table's columns), handcrafted (five digit features), concepts (a SENN's, with --senn), or pca.") var features: FeatureSpace = .pixels
    @Option(help: "A CSV file with a header row and a label column (for --dataset csv).") var csv: String?
    @Option(help: "The CSV's label column.") var labelColumn = "label"
    @Option(parsing: .unconditional, help: "Share of a CSV's rows held out for testing (stratified, seeded).") var testFraction = 0.2
    @Option(help: "A SENN model file (glassbox senn train): its concepts are the features with --features concepts; compare adds its row.") var senn: String?
    @Option(parsing: .unconditional, help: "Principal components for --features pca.") var components = 20
    @OptionGroup var data: DataOptions

    func options(seed: UInt64) -> TransparentDataOptions {
        var o = TransparentDataOptions()
        (o.dataset, o.features, o.mnist, o.csvPath, o.labelColumn) = (dataset, features, data.source, csv, labelColumn)
        (o.testFraction, o.sennPath, o.components, o.seed) = (testFraction, senn, components, seed)
        return o
    }

    func validate() throws {
        if dataset == .csv, csv == nil { throw ValidationError("--dataset csv needs --csv FILE") }
        if csv != nil, dataset != .csv { throw ValidationError("--csv is read only with --dataset csv") }
        if !(testFraction > 0 && testFraction < 1) { throw ValidationError("--test-fraction must be between 0 and 1") }
        if components < 1 { throw ValidationError("--components must be at least 1") }
        if features == .concepts, senn == nil { throw ValidationError("--features concepts needs --senn MODEL") }
    }
}

/// Loads a native model for pages that look inside it.
func nativeModule(_ path: String?) throws -> Module? {
    guard let path else { return nil }
    guard let module = try ModelFile.load(path).model.module else {
        throw TorchError("\(path) is a TorchScript model; this command needs a native Glassbox model (its layers)")
    }
    return module
}

struct TransparentLinear: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linear",
        abstract: "Multinomial logistic regression: class weights as images, global weights vs a network's local gradients, and the perceptron's and hard-margin SVM's guarantees.")

    @Option(name: .customLong("C"), parsing: .unconditional, help: "Inverse regularisation strength (scikit-learn's C).") var inverseStrength = 0.05
    @Option(help: "l2 (L-BFGS) or l1 (FISTA).") var penalty: LogisticRegression.Penalty = .l2
    @Option(parsing: .unconditional, help: "Iteration limit of the solver.") var maxIterations = 20_000
    @Option(help: "The demo CNN (model.safetensors), to compare its gradients with the weights.") var model: String?
    @Option(help: "Output folder.") var out = "runs/transparent-linear"
    @OptionGroup var data: TransparentDataFlags
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if !(inverseStrength > 0 && inverseStrength.isFinite) { throw ValidationError("--C must be positive") }
        if maxIterations < 1 { throw ValidationError("--max-iterations must be at least 1") }
    }

    func run() throws {
        try common.apply()
        let table = try TransparentData.load(data.options(seed: common.seed))
        let settings = LogisticRegression.Settings(inverseStrength: inverseStrength, penalty: penalty, maxIterations: maxIterations)
        let record = try showingProgress { try LinearStudy.run(data: table, settings: settings, network: nativeModule(model), out: out) }.record
        print(String(format: "logistic regression: train %.2f%%, test %.2f%%, %d iterations%@", 100 * record.trainAccuracy, 100 * record.testAccuracy,
                     record.iterations, record.converged ? "" : " (not converged)"))
        for guarantee in record.guarantees { print("\(guarantee.model) \(guarantee.classes.map(String.init).joined(separator: " vs ")): \(guarantee.detail)") }
        print("report: \(out)/linear.html")
    }
}

struct TransparentTree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree",
        abstract: "CART decision trees of several depths: accuracy, size, SVG diagrams and text rules.")

    @Option(help: "Comma-separated maximum depths; 'none' for unbounded.") var depths = "3,10,none"
    @Option(help: "gini or entropy.") var criterion: DecisionTree.Criterion = .gini
    @Option(parsing: .unconditional, help: "Fewest samples a node needs to be split.") var minSamplesSplit = 2
    @Option(parsing: .unconditional, help: "Fewest samples in a leaf.") var minSamplesLeaf = 1
    @Option(help: "Output folder.") var out = "runs/transparent-tree"
    @OptionGroup var data: TransparentDataFlags
    @OptionGroup var common: CommonOptions

    func validate() throws {
        _ = try Self.parse(depths, flag: "--depths")
        try asUsageError { try DecisionTree.Settings(minSamplesSplit: minSamplesSplit, minSamplesLeaf: minSamplesLeaf).validate() }
    }

    func run() throws {
        try common.apply()
        let table = try TransparentData.load(data.options(seed: common.seed))
        let settings = DecisionTree.Settings(criterion: criterion, minSamplesSplit: minSamplesSplit, minSamplesLeaf: minSamplesLeaf)
        let rows = try showingProgress { try TreeStudy.run(data: table, depths: try Self.parse(depths, flag: "--depths"), settings: settings, out: out) }
        printTable([["max depth", "depth", "nodes", "train", "test", "fit"]] + rows.map {
            [$0.maxDepth, String($0.depth), String($0.nodes), String(format: "%.1f%%", 100 * $0.trainAccuracy),
             String(format: "%.1f%%", 100 * $0.testAccuracy), String(format: "%.2f s", $0.seconds)]
        })
        print("report: \(out)/tree.html")
    }
}

struct TransparentKNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knn",
        abstract: "k-nearest neighbours as explanation by example, in input space and in a network's layer.")

    @Option(parsing: .unconditional, help: "Neighbours (accuracy is reported for 1…k).") var k = 5
    @Option(help: "euclidean or cosine.") var metric: NearestNeighbors.Metric = .euclidean
    @Option(help: "The demo CNN (model.safetensors), for neighbours in its layer and the faithfulness figure.") var model: String?
    @Option(help: "Hook point of --model (default: the input of its last linear layer).") var layer: String?
    @Option(parsing: .unconditional, help: "Test digits shown with their neighbours.") var examples = 6
    @Option(help: "Output folder.") var out = "runs/transparent-knn"
    @OptionGroup var data: TransparentDataFlags
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if k < 1 { throw ValidationError("--k must be at least 1") }
        if !(0...64).contains(examples) { throw ValidationError("--examples must be between 0 and 64") }
    }

    func run() throws {
        try common.apply()
        let table = try TransparentData.load(data.options(seed: common.seed))
        let record = try showingProgress {
            try NeighborStudy.run(data: table, network: nativeModule(model), layer: layer, metric: metric, k: k, examples: examples, out: out)
        }
        print("k-NN test accuracy, k = 1…\(k), input space: " + record.inputSpaceAccuracy.map { String(format: "%.1f%%", 100 * $0) }.joined(separator: " "))
        if let layerAccuracy = record.layerSpaceAccuracy, let agreement = record.networkAgreesWithLayerNeighbors {
            print("layer \(record.layer!): " + layerAccuracy.map { String(format: "%.1f%%", 100 * $0) }.joined(separator: " "))
            print(String(format: "the network predicts its %d layer neighbours' majority label for %.1f%% of test digits", k, 100 * agreement))
        }
        print("report: \(out)/knn.html")
    }
}

struct TransparentCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "The interpretability/accuracy trade-off on one page, and tree distillation of the network.",
        discussion: "Without --model the demo CNN is trained first (--epochs), and its training time enters the table.")

    @Option(help: "The demo CNN (model.safetensors); trained now when absent.") var model: String?
    @Option(parsing: .unconditional, help: "Epochs when training the CNN here.") var epochs = 15
    @Option(name: .customLong("C"), parsing: .unconditional, help: "Logistic regression's inverse regularisation strength.") var inverseStrength = 0.05
    @Option(help: "Comma-separated depths of the distilled trees; 'none' for unbounded.") var distillationDepths = "1,2,3,4,6,8,10,12,none"
    @Option(help: "Output folder.") var out = "runs/transparent-compare"
    @OptionGroup var data: TransparentDataFlags
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if data.features != .pixels { throw ValidationError("compare chooses its own feature spaces; leave --features out") }
    }

    func run() throws {
        try common.apply()
        let depths = try TransparentTree.parse(distillationDepths, flag: "--distillation-depths")
        let record = try showingProgress {
            let network = data.dataset == .mnist ? try TradeoffStudy.network(modelPath: model, epochs: epochs, seed: common.seed, out: out) : nil
            return try TradeoffStudy.run(data: data.options(seed: common.seed), network: network, senn: try data.senn.map(SENNFile.load),
                                         inverseStrength: inverseStrength, distillationDepths: depths, out: out)
        }
        printTable([["model", "features", "test accuracy", "size", "training"]] + record.rows.map {
            [$0.model, $0.features, String(format: "%.1f%%", 100 * $0.testAccuracy), "\($0.size) \($0.sizeUnit)",
             $0.trainSeconds.map { String(format: "%.2f s", $0) } ?? "loaded"]
        })
        if !record.distillation.isEmpty {
            print("tree distilled from the network, fidelity by depth: " + record.distillation.map { "\($0.maxDepth): " + String(format: "%.1f%%", 100 * $0.fidelity) }.joined(separator: ", "))
        }
        print("report: \(out)/compare.html")
    }
}

struct ExplainByExample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain-by-example",
        abstract: "The training digits nearest to your inputs, in pixel space and in the network's layer, with the network's prediction.")

    @Option(help: "The demo CNN (model.safetensors).") var model: String
    @Option(help: "Inputs: a PNG (28×28 grayscale, white on black), .npy or .safetensors of (28, 28), (1, 28, 28) or (N, 1, 28, 28).") var input: String
    @Option(help: "Hook point (default: the input of the last linear layer).") var layer: String?
    @Option(parsing: .unconditional, help: "Neighbours per input.") var k = 5
    @Option(help: "euclidean or cosine.") var metric: NearestNeighbors.Metric = .euclidean
    @Option(help: "Output folder.") var out = "runs/explain-by-example"
    @OptionGroup var data: DataOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if k < 1 { throw ValidationError("--k must be at least 1") }
    }

    func run() throws {
        try common.apply()
        guard let network = try nativeModule(model) else { return }
        let (inputs, names) = try InputFile.load(input, expecting: [1, 28, 28])
        var options = TransparentDataOptions()
        options.mnist = data.source
        let table = try TransparentData.load(options)
        let records = try showingProgress {
            try NeighborStudy.explain(inputs: inputs, names: names, data: table, network: network, layer: layer, metric: metric, k: k, out: out)
        }
        for record in records {
            print("\(record.input): predicted \(record.prediction); nearest in the layer: labels \(record.neighborLabels.map(String.init).joined(separator: " ")) (training indices \(record.layerNeighbors.map(String.init).joined(separator: " "))), majority \(record.layerMajority); in pixels: majority \(record.inputMajority)")
        }
        print("report: \(out)/neighbors.html")
    }
}

extension TransparentTree {
    /// Depth lists such as "3,10,none".
    static func parse(_ text: String, flag: String) throws -> [Int?] {
        let depths = try text.split(separator: ",").map { part -> Int? in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed == "none" { return nil }
            guard let depth = Int(trimmed), depth >= 0 else { throw ValidationError("\(flag) takes non-negative integers or 'none', got '\(trimmed)'") }
            return depth
        }
        guard !depths.isEmpty else { throw ValidationError("\(flag) needs at least one depth") }
        return depths
    }
}
