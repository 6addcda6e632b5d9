import ArgumentParser
import DictionaryLearning
import Foundation
import Runs
import Torch

struct ActivationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activations",
        abstract: "Activations: one image's per-channel feature maps (maps), or a hook point into a sharded store on disk for sparse autoencoders (collect).",
        subcommands: [ActivationsCollect.self, ActivationsMaps.self]
    )
}

struct ActivationsCollect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Run a model over a split and store one hook point's activations as safetensors shards.",
        discussion: paragraphs("""
        Sources: an MNIST CNN (`glassbox train`; the bundled digits, train or test), a tweet language model
        (`glassbox lm train`; every real token of the tweets' train, validation or test split), or the MiniLM probe
        (`glassbox text train --arch minilm-probe`; every WordPiece token, hook points under bert., e.g.
        bert.encoder.layer.3.hook_resid_post). Shards of --rows-per-shard rows (65,536),
        part-K-of-N-*.safetensors (data-parallel training gives each rank its own shards); --shard k/n takes every n-th batch from batch k, so n machines can collect into one
        folder (copied together afterwards); a rerun of a part replaces its shards.
        """)
    )

    @Option(help: "A model file: an MNIST CNN or a language model.") var model: String
    @Option(help: "The hook point (for a language model, e.g. blocks.0.hook_mlp_post).") var hook: String
    @Option(help: "train, validation (tweets only) or test.") var split: SAERun.Split = .train
    @Option(help: "This run's part k/n of the batches.") var shard = "0/1"
    @Option(parsing: .unconditional, help: "Only the first N inputs (digits, or texts per split).") var limit: Int?
    @Option(parsing: .unconditional, help: "Rows per shard file.") var rowsPerShard = 65_536
    @Option(help: "all-MiniLM-L6-v2's folder, for a MiniLM probe (else $GLASSBOX_MINILM or the cache).") var minilm: String?
    @Option(help: "Output folder of the store.") var out = "runs/activations"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        _ = try asUsageError { _ = try ActivationStore.Part(parsing: shard) }
        if rowsPerShard < 1 { throw ValidationError("--rows-per-shard must be at least 1") }
    }

    func run() throws {
        try common.apply()
        let part = try ActivationStore.Part(parsing: shard)
        let collection = try showingProgress { try SAERun.collect(model: model, hookPoint: hook, split: split, part: part, limit: limit, minilm: minilm,
                                                                    rowsPerShard: rowsPerShard, out: out) }
        print(String(format: "%d rows of %d values in %d shard(s), %.1f s; store: %@", collection.rows, collection.dimension, collection.shards,
                     collection.seconds, out))
    }
}

/// Options of autoencoder training shared by `sae train` and `sae synthetic`; each command has
/// its own defaults (`SparseAutoencoderTrainer` values) for what is not given.
struct SAETrainingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Dictionary size as a multiple of the input width (synthetic: of the true features).") var expansion: Int?
    @Option(parsing: .unconditional, help: "TopK: keep each input's k largest activations (no L1) instead of ReLU + L1.") var topK: Int?
    @Option(parsing: .unconditional, help: "L1 coefficient λ (ReLU autoencoders).") var l1: Double?
    @Option(parsing: .unconditional, help: "Training steps.") var steps: Int?
    @Option(parsing: .unconditional, help: "Activations per step.") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Adam's learning rate (after the warm-up).") var learningRate: Double?
    @Option(parsing: .unconditional, help: "Linear learning-rate warm-up steps.") var warmup: Int?
    @Option(help: "Resample dead features at these steps (comma-separated; \"none\": never).") var resampleAt: String?
    @Option(parsing: .unconditional, help: "Steps without firing after which a feature counts as dead.") var deadWindow: Int?

    /// `defaults` with the given options applied.
    func trainer(_ defaults: SparseAutoencoderTrainer, seed: UInt64) throws -> SparseAutoencoderTrainer {
        var t = defaults
        t.seed = seed
        if let steps { t.steps = steps }
        if let batchSize { t.batchSize = batchSize }
        if let learningRate { t.learningRate = learningRate }
        if let warmup { t.warmupSteps = warmup }
        if let l1 { t.l1Coefficient = l1 }
        if let deadWindow { t.deadWindow = deadWindow }
        if let resampleAt {
            let points = resampleAt == "none" ? [] : resampleAt.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard points.allSatisfy({ $0 != nil && $0! >= 1 }) else { throw ValidationError("--resample-at takes comma-separated steps or none, got '\(resampleAt)'") }
            t.resampleAt = points.map { $0! }
        }
        return t
    }

    func validate() throws {
        for (name, value) in [("--steps", steps), ("--batch-size", batchSize), ("--dead-window", deadWindow), ("--expansion", expansion), ("--top-k", topK)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
        if let learningRate, learningRate <= 0 { throw ValidationError("--learning-rate must be positive") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if let l1, l1 < 0 { throw ValidationError("--l1 must not be negative") }
        _ = try trainer(SparseAutoencoderTrainer(), seed: 0)
    }
}

struct SAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae",
        abstract: "Sparse autoencoders (dictionary learning, Bricken et al. 2023) on stored activations.",
        subcommands: [SAETrain.self, SAEEvaluate.self, SAEDashboardCommand.self, SAESteer.self, SAEMatch.self, SAESplit.self, SAESynthetic.self]
    )
}

struct SAETrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a sparse autoencoder on an activation store; writes sae.safetensors and metrics.json.",
        discussion: paragraphs("""
        Defaults: ×8 features, 10,000 steps of 4,096 activations, Adam at 1e-3 after a 1,000-step warm-up, \
        λ = 1e-3, dead features (silent for 2,500 steps) resampled at steps 2,500, 5,000 and 7,500. Progress \
        shows L0, squared error and the share of features dead since the last report.

        --distributed: data-parallel training over processes on one machine or several, on libtorch's c10d \
        Gloo engine. Every rank runs this command with the same options and torchrun's environment \
        (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK), e.g. `torchrun --nproc_per_node 2 --no-python glassbox \
        sae train --distributed …`. Rank k reads shards k, k + n, … of the store (which needs at least one \
        shard per rank; see activations collect --rows-per-shard), the batch is split evenly over the ranks \
        and the gradients averaged, so the result is one process's training on the same global batch. Rank 0 \
        writes --out (a folder only it needs). Without --threads each rank takes cores / LOCAL_WORLD_SIZE threads.
        """)
    )

    @Option(help: "The activation store (glassbox activations collect).") var activations: String
    @Option(help: "A held-out store to measure on (default: the training store's first rows).") var evaluation: String?
    @Option(parsing: .unconditional, help: "Write --out/checkpoint.safetensors every N steps.") var checkpointEvery = 1000
    @Flag(help: "Continue from --out's checkpoint (same settings).") var resume = false
    @Flag(help: "Data-parallel training across processes (see below).") var distributed = false
    @Option(parsing: .unconditional, help: "Seconds a rank waits for the others before giving up (--distributed).") var timeout = 300.0
    @OptionGroup var training: SAETrainingOptions
    @Option(help: "Output folder.") var out = "runs/sae"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if !(timeout > 0 && timeout.isFinite) { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() throws {
        try common.apply()
        var group: ProcessGroup?
        if distributed {
            let environment = ProcessInfo.processInfo.environment
            if common.threads == nil, let local = environment["LOCAL_WORLD_SIZE"].flatMap(Int.init), local > 1 {
                try Torch.setThreads(Swift.max(1, ProcessInfo.processInfo.activeProcessorCount / local))
            }
            group = try ProcessGroup(environment: environment, timeout: timeout)
        }
        var defaults = SparseAutoencoderTrainer()
        defaults.resampleAt = [2500, 5000, 7500]
        var trainer = try training.trainer(defaults, seed: common.seed)
        trainer.checkpointEvery = checkpointEvery
        let record = try showingProgress {
            try SAERun.train(activations: activations, expansion: training.expansion ?? 8, topK: training.topK, trainer: trainer, evaluation: evaluation,
                             resume: resume, group: group, out: out)
        }
        if let group, group.rank != 0 {
            print(String(format: "rank %d of %d done in %.0f s; rank 0 wrote the autoencoder", group.rank, group.worldSize, record.seconds))
            return
        }
        printMetrics(record.metrics, on: record.evaluatedOn)
        print(String(format: "%.0f s; autoencoder: %@/sae.safetensors", record.seconds, out))
    }
}

struct SAEEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a trained autoencoder on a store; with --model (a language model), the loss recovered and how interpretable its features are.",
        discussion: paragraphs("""
        Loss recovered = (CE zero-ablated − CE spliced) / (CE zero-ablated − CE clean), next-token loss on the first 1,000
        validation tweets. Interpretability, features vs the layer's neurons: the share of the top 20 activations on the first
        1,000 validation tweets that fall on one token, and the correlation on 1,000 test tweets of the activation predicted
        from its mean per token (a simulation score without a language model).
        """)
    )

    @Option(help: "sae.safetensors from `glassbox sae train` (or its checkpoint.safetensors: the dictionary so far).") var sae: String
    @Option(help: "The activation store to measure on.") var activations: String
    @Option(help: "The model the activations came from: a language model (loss recovered, interpretability) or the MiniLM probe (embeddings and probe accuracy with the reconstruction spliced in).") var model: String?
    @Option(help: "all-MiniLM-L6-v2's folder, for a MiniLM probe (else $GLASSBOX_MINILM or the cache).") var minilm: String?
    @OptionGroup var common: CommonOptions

    func run() throws {
        try common.apply()
        let (autoencoder, hook) = try SAERun.load(sae)
        let rows = try ActivationStore.Reader(folder: activations).all(limit: 65_536)
        let metrics = try showingProgress { try SparseAutoencoderMetrics(autoencoder, activations: rows) }
        printMetrics(metrics, on: activations)
        if let model, !LanguageModelFile.isLanguageModel(model) {
            guard let hook else { throw ValidationError("\(sae) does not record its hook point; splicing needs it") }
            let splice = try showingProgress { try SAERun.sentenceSplice(sae: autoencoder, hookPoint: hook, probe: model, minilm: minilm) }
            print(String(format: "reconstruction spliced into MiniLM (the probe has no language-model head, so no loss recovered): sentence embeddings' mean cosine with the originals %.4f; probe test accuracy %.2f%% → %.2f%% (%d texts)",
                         splice.meanCosine, 100 * splice.cleanAccuracy, 100 * splice.splicedAccuracy, splice.texts))
        } else if let model {
            guard let hook else { throw ValidationError("\(sae) does not record its hook point; the loss recovered needs it") }
            let recovered = try showingProgress { try SAERun.lossRecovered(sae: autoencoder, hookPoint: hook, languageModel: model) }
            let losses = String(format: "clean %.4f, spliced %.4f, zero-ablated %.4f nats; %d texts", recovered.clean, recovered.spliced,
                                recovered.zeroAblated, recovered.texts)
            let interpretability = try showingProgress { try SAERun.interpret(sae: autoencoder, hookPoint: hook, languageModel: model) }
            for (name, n) in [("neurons", interpretability.neurons), ("features (\(interpretability.liveFeatures) live of \(interpretability.allFeatures))", interpretability.features)] {
                print(String(format: "%@: one-token share of the top %d activations %.3f (≥ 0.8 for %.1f%%), token-mean simulation r %.3f", name, n.topK,
                             n.meanTopTokenShare, 100 * n.monosemanticFraction, n.meanSimulation))
            }
            if let fraction = recovered.fraction {
                print(String(format: "loss recovered %.1f%% (%@; target ≥ 75%%: %@)", 100 * fraction, losses, fraction >= 0.75 ? "met" : "not met"))
            } else {
                print("loss recovered: undefined, zeroing \(hook) does not raise this model's loss (\(losses))")
            }
        }
    }
}

/// An autoencoder trained on a language model's activations, and that model.
struct LanguageModelAutoencoder: ParsableArguments {
    @Option(help: "sae.safetensors from `glassbox sae train` (on a language model's activations).") var sae: String
    @Option(help: "The model the activations came from (a tweet language model; for `dashboard` also an MNIST CNN).") var model: String

    /// The autoencoder and its hook point.
    func load() throws -> (SparseAutoencoder, String) {
        let (autoencoder, hook) = try SAERun.load(sae)
        guard let hook else { throw ValidationError("\(sae) does not record its hook point") }
        return (autoencoder, hook)
    }
}

struct SAEDashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Feature dashboards: contexts (tweets) or digits (an MNIST CNN), interval samples, histogram, output effect.",
        discussion: "A tweet language model: on the first 1,000 validation tweets. An MNIST CNN: on the first 1,000 bundled test digits, with each feature's prototype (the mean of its top digits) and the label purity of features against the layer's neurons. Writes dashboard.json and dashboard.html."
    )

    @OptionGroup var subject: LanguageModelAutoencoder
    @Option(help: "Features to show (comma-separated; default: --count live features drawn at random).") var features: String?
    @Option(parsing: .unconditional, help: "How many random live features.") var count = 12
    @Option(help: "Output folder.") var out = "runs/sae-dashboard"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if count < 1 { throw ValidationError("--count must be at least 1") }
        _ = try parsedFeatures()
    }

    func parsedFeatures() throws -> [Int]? {
        guard let features else { return nil }
        let values = features.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("--features takes comma-separated feature numbers, got '\(features)'") }
        return values.map { $0! }
    }

    func run() throws {
        try common.apply()
        let (autoencoder, hook) = try subject.load()
        guard LanguageModelFile.isLanguageModel(subject.model) else {
            let record = try showingProgress {
                try SAERun.imageDashboard(sae: autoencoder, hookPoint: hook, model: subject.model, features: try parsedFeatures(), count: count, seed: common.seed, out: out)
            }
            for d in record.features {
                print(String(format: "feature %d: fires on %.1f%% of digits, largest activation %.3f", d.feature, 100 * d.frequency, d.maxActivation))
            }
            print(String(format: "label purity of the top %d digits: features %.3f, neurons %.3f", record.purityTop, record.featurePurity, record.neuronPurity))
            print("page: \(out)/dashboard.html")
            return
        }
        let record = try showingProgress {
            try SAERun.dashboard(sae: autoencoder, hookPoint: hook, languageModel: subject.model, features: try parsedFeatures(), count: count, seed: common.seed, out: out)
        }
        for d in record.features {
            print(String(format: "feature %d: fires on %.2f%% of tokens, largest activation %.3f", d.feature, 100 * d.frequency, d.maxActivation))
        }
        print("page: \(out)/dashboard.html")
    }
}

struct SAESteer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Clamp one feature to a value at every token of a text and show how the next-token distribution changes.",
        discussion: "h′ = h + (value − fᵢ(h))·dᵢ at the autoencoder's hook point (dᵢ the feature's decoder direction; the reconstruction error stays in)."
    )

    @OptionGroup var subject: LanguageModelAutoencoder
    @Option(parsing: .unconditional, help: "The feature to clamp.") var feature: Int
    @Option(parsing: .unconditional, help: "The value to clamp it to (0 turns it off).") var value: Double
    @Option(help: "The text whose next token is predicted.") var text: String
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard value.isFinite else { throw ValidationError("--value must be a finite number") }
    }

    func run() throws {
        try common.apply()
        let (autoencoder, hook) = try subject.load()
        let steering = try SAERun.steer(sae: autoencoder, hookPoint: hook, languageModel: subject.model, feature: feature, value: value, text: text)
        print(String(format: "feature %d at the last token: %.4f → %g; KL(before ‖ after) %.4f nats", feature, steering.original, value, steering.divergence))
        printTable([["next token", "before", "after"]] + steering.predictions.map { [$0.token, String(format: "%.4f", $0.before), String(format: "%.4f", $0.after)] })
    }
}

struct SAEMatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Match two autoencoders' features (and two language models' neurons) by activation correlation.",
        discussion: paragraphs("""
        Per feature of the first, its largest Pearson correlation with a feature of the second (median reported), and the
        one-to-one matching with the largest total (Hungarian method). With --model and --other-model (language models from
        two seeds), the same for their neurons at the autoencoders' hook point, on the first 1,000 validation tweets.
        Bricken et al. (2023): median max correlation about 0.72 for features vs 0.46 for neurons.
        """)
    )

    @Option(help: "The first sae.safetensors.") var sae: String
    @Option(help: "The second (another seed, say).") var other: String
    @Option(help: "The activation store to compare them on (its first 16,384 rows).") var activations: String
    @Option(help: "A language model, for the neuron baseline.") var model: String?
    @Option(help: "The same language model trained from another seed.") var otherModel: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if (model == nil) != (otherModel == nil) { throw ValidationError("the neuron baseline needs both --model and --other-model") }
    }

    func run() throws {
        try common.apply()
        let (first, hook) = try SAERun.load(sae), (second, _) = try SAERun.load(other)
        let features = try showingProgress { try SAERun.matchFeatures(first, second, activations: activations) }
        print(String(format: "features: median max correlation %.3f, mean correlation of the one-to-one matching %.3f (%d and %d features)",
                     features.medianMaxCorrelation, features.meanAssignedCorrelation, first.configuration.features, second.configuration.features))
        if let model, let otherModel {
            guard let hook else { throw ValidationError("\(sae) does not record its hook point") }
            let neurons = try showingProgress { try SAERun.matchNeurons(model, otherModel, hookPoint: hook) }
            print(String(format: "neurons at %@: median max correlation %.3f, mean correlation of the one-to-one matching %.3f",
                         hook, neurons.medianMaxCorrelation, neurons.meanAssignedCorrelation))
        }
        print("published (Bricken et al. 2023, one-layer transformer): features about 0.72, neurons about 0.46 (median max correlation)")
    }
}

struct SAESplit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Feature splitting: how a small dictionary's features become families of features in larger ones.",
        discussion: paragraphs("""
        Give two or more autoencoders trained on the same activations (say ×2, ×8 and ×32; any order). Each feature of a
        larger dictionary hangs under its nearest feature of the next smaller one by decoder cosine (when it reaches
        --threshold); a family's activations summed are correlated with its parent's on the store's first 16,384 rows.
        With --model (the language model the activations came from) every feature is labelled with its most frequent token
        among its top activations on 500 validation tweets. Writes split.json and split.html (summary per size, family trees).
        """)
    )

    @Option(name: .customLong("sae"), help: "An sae.safetensors (repeat: two or more).") var saes: [String] = []
    @Option(help: "The activation store they were trained on.") var activations: String
    @Option(help: "The language model, to label features with tokens.") var model: String?
    @Option(help: "Decoder cosine a child needs with its parent.") var threshold = 0.5
    @Option(help: "Family trees drawn (features of the smallest dictionary with the most children).") var families = 12
    @Option(help: "Output folder.") var out = "runs/sae-split"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard saes.count >= 2 else { throw ValidationError("give at least two autoencoders with --sae") }
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must lie in [0, 1]") }
        guard families >= 0 else { throw ValidationError("--families must not be negative") }
    }

    func run() throws {
        try common.apply()
        let record = try showingProgress { try SAERun.split(saes: saes, activations: activations, languageModel: model, threshold: threshold, families: families, out: out) }
        for (index, level) in record.splitting.levels.enumerated() {
            print(String(format: "%d → %d features: %.1f%% of the smaller dictionary's kept, %.1f%% split (%.2f children each), median family correlation %.3f",
                         record.splitting.sizes[index], level.features, 100 * level.keptShare, 100 * level.splitShare, level.meanChildren, level.medianFamilyCorrelation))
        }
        print(String(format: "%.1f s; page: %@", record.seconds, (out as NSString).appendingPathComponent("split.html")))
    }
}

struct SAESynthetic: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthetic",
        abstract: "Train on synthetic activations with a known dictionary and report how much of it the autoencoder recovers.",
        discussion: paragraphs("""
        Recovery: for each true direction, the largest cosine similarity with a learned one, averaged (target ≥ 0.9).
        Defaults: ×2 features, 3,000 steps of 1,024 inputs, Adam at 3e-3 after 100 warm-up steps, λ = 0.3, resampling at
        steps 1,000 and 2,000.
        """)
    )

    @Option(parsing: .unconditional, help: "True dictionary directions.") var features = 256
    @Option(parsing: .unconditional, help: "Activation width.") var dimension = 64
    @Option(parsing: .unconditional, help: "Probability that a direction is present in an input.") var density = 0.01
    @OptionGroup var training: SAETrainingOptions
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard features >= 1, dimension >= 1, density > 0, density <= 1 else { throw ValidationError("--features and --dimension ≥ 1, --density in (0, 1]") }
    }

    func run() throws {
        try common.apply()
        let trainer = try training.trainer(SAERun.syntheticDefaults, seed: common.seed)
        let record = try showingProgress {
            try SAERun.synthetic(features: features, dimension: dimension, density: density, expansion: training.expansion ?? 2, trainer: trainer)
        }
        printMetrics(record.metrics, on: "16,384 fresh synthetic inputs")
        print(String(format: "recovery of the true dictionary: mean max cosine %.3f (target ≥ 0.9: %@); %.0f s", record.recovery,
                     record.recovery >= 0.9 ? "met" : "not met", record.seconds))
    }
}

func printMetrics(_ m: SparseAutoencoderMetrics, on what: String) {
    print(String(format: "on %@ (%d inputs): L0 %.2f, MSE %.5g, variance explained %.1f%%, dead %.1f%%, dense (> %.0f%% of inputs) %.1f%%", what,
                 m.inputs, m.l0, m.mse, 100 * m.varianceExplained, 100 * m.deadFraction, 100 * m.denseThreshold, 100 * m.denseFraction))
    print("live features per firing frequency: " + m.frequencyHistogram.map { "10^\($0.decade): \($0.features)" }.joined(separator: ", "))
}
extension SAERun.Split: ExpressibleByArgument {}
