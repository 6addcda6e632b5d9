import Datasets
import DictionaryLearning
import ExplanationCore
import Foundation
import NN
import Superposition
import TextModels
import Torch

/// `glassbox activations collect` and `glassbox sae …`: activations from a hook point into a
/// sharded store, sparse autoencoders trained on it, and their standard measures (Bricken et al.
/// 2023). Sources: the MNIST CNN (the bundled digits), the tweet language model and the MiniLM
/// probe (every real token of a split of the tweets).
public enum SAERun {
    public enum Split: String, CaseIterable, Codable, Sendable {
        case train, validation, test

        func texts(of corpus: TweetCorpus.Splits) -> [String] {
            switch self {
            case .train: corpus.train.texts
            case .validation: corpus.validation.texts
            case .test: corpus.test.texts
            }
        }
    }

    public struct Collection: Codable, Sendable {
        public var rows: Int, shards: Int, dimension: Int
        public var seconds: Double
    }

    /// Activations at `hookPoint` of the inputs of `split` whose batch falls in `part`, into `out`.
    public static func collect(model modelPath: String, hookPoint: String, split: Split, part: ActivationStore.Part, limit: Int?,
                               minilm: String? = nil, rowsPerShard: Int = 65_536, out: String) throws -> Collection {
        if let limit, limit < 1 { throw TorchError("--limit must be at least 1") }
        let started = Date()
        let metadata = ["glassbox.source": (modelPath as NSString).lastPathComponent, "glassbox.hook": hookPoint, "glassbox.split": split.rawValue]
        let writer = try ActivationStore.Writer(folder: out, part: part, rowsPerShard: rowsPerShard, metadata: metadata)
        if LanguageModelFile.isLanguageModel(modelPath) {
            let lm = try LanguageModelFile.load(modelPath)
            let corpus = try TweetCorpus.bundled(task: .threeClass).prefix(limit)
            let texts = split.texts(of: corpus)
            try lm.forEachBatch(of: texts, at: [hookPoint], include: { $0 % part.count == part.index }) { index, count, activations, _ in
                try writer.append(activations[0])
                ProgressObserver.report("collecting", done: index + 1, of: count, unit: "batches")
            }
        } else if (try? Safetensors.readMetadata(modelPath))?["glassbox.architecture"] == "text-\(TextArchitecture.minilmProbe.rawValue)" {
            // The MiniLM probe: every real WordPiece token ([CLS] and [SEP] included) of its task's split.
            let file = try TextModelFile.load(modelPath)
            let (probe, tokenizer) = try file.probe(minilm: minilm)
            let corpus = try TweetCorpus.bundled(task: file.task).prefix(limit)
            let texts = split.texts(of: corpus)
            let sequences = SentenceEmbedding.sequences(texts, tokenizer: tokenizer, limit: probe.encoder.configuration.maxPositions)
            let starts = Array(stride(from: 0, to: sequences.count, by: 64))
            for (index, start) in starts.enumerated() where index % part.count == part.index {
                let ids = try TokenBatch(Array(sequences[start..<Swift.min(start + 64, sequences.count)]), padding: tokenizer.padding).ids
                try writer.append(realTokenRows(layerActivations(probe, ids, hookPoint: hookPoint), ids: ids))
                ProgressObserver.report("collecting", done: index + 1, of: starts.count, unit: "batches")
            }
        } else {
            let loaded = try ModelFile.load(modelPath)
            guard let module = loaded.model.module else { throw TorchError("a TorchScript model has no hook points to collect from") }
            guard loaded.inputShape == MNIST.imageShape else { throw TorchError("activations are collected from MNIST-shaped models (the bundled digits), tweet language models or the MiniLM probe") }
            guard split != .validation else { throw TorchError("the bundled MNIST digits have train and test splits, no validation split") }
            let digits = try MNIST.bundled()
            var images = split == .train ? digits.train.images : digits.test.images
            if let limit { images = try images.slice(dim: 0, start: 0, end: Swift.min(limit, images.shape[0])) }
            let starts = Array(stride(from: 0, to: images.shape[0], by: 512))
            for (index, start) in starts.enumerated() where index % part.count == part.index {
                let batch = try images.slice(dim: 0, start: start, end: Swift.min(start + 512, images.shape[0]))
                try writer.append(layerActivations(module, batch, hookPoint: hookPoint).flattened(from: 1))
                ProgressObserver.report("collecting", done: index + 1, of: starts.count, unit: "batches")
            }
        }
        try writer.finish()
        guard writer.rows > 0 else { throw TorchError("part \(part.index)/\(part.count) holds none of the batches; use fewer parts") }
        return Collection(rows: writer.rows, shards: writer.shards, dimension: try ActivationStore.Reader(folder: out).dimension,
                          seconds: Date().timeIntervalSince(started))
    }

    public struct TrainRecord: Codable, Sendable {
        public var configuration: SparseAutoencoder.Configuration
        public var hookPoint: String?, source: String?
        public var steps: Int, batchSize: Int, l1Coefficient: Double, learningRate: Double
        public var reports: [SparseAutoencoderTrainer.Report]
        /// On `evaluation` (or the store's first rows when none was given).
        public var metrics: SparseAutoencoderMetrics
        public var evaluatedOn: String
        public var seconds: Double
    }

    /// Trains on the store at `activations` (F = `expansion` × d) and measures on `evaluation`'s
    /// rows (another store; else the first 16,384 rows of the training store, which the page says).
    /// Writes checkpoint.safetensors as it goes (`resume` continues from it), then sae.safetensors
    /// and metrics.json.
    ///
    /// With a `group` (data parallelism), each rank trains on its own shards of the store, the
    /// batch is split over the ranks, and only rank 0 shows progress and writes; every rank
    /// measures the same rows and returns the same record.
    public static func train(activations: String, expansion: Int, topK: Int?, trainer settings: SparseAutoencoderTrainer, evaluation: String?,
                             resume: Bool = false, group: ProcessGroup? = nil, out: String) throws -> TrainRecord {
        guard (1...256).contains(expansion) else { throw TorchError("--expansion must be 1…256, got \(expansion)") }
        let writes = group?.rank ?? 0 == 0
        if writes { try OutputFolder.prepare(out) }
        var trainer = settings
        trainer.checkpointPath = path(out, "checkpoint.safetensors")
        if writes, !resume, FileManager.default.fileExists(atPath: trainer.checkpointPath!) { try FileManager.default.removeItem(atPath: trainer.checkpointPath!) }
        let started = Date()
        let part = try group.map { try ActivationStore.Part(index: $0.rank, count: $0.worldSize) } ?? .whole
        let store = try ActivationStore.Reader(folder: activations, part: part)
        let sae = try SparseAutoencoder(.init(inputs: store.dimension, features: expansion * store.dimension, topK: topK), generator: Generator(seed: trainer.seed))
        if writes {
            let ranks = group.map { " on \($0.worldSize) ranks" } ?? ""
            ProgressObserver.note("training a ×\(expansion) sparse autoencoder (\(store.dimension) → \(sae.configuration.features) features) on \(store.files.count) shard(s)\(ranks)")
        }
        let reports = try trainer.train(sae, on: store, reportEvery: Swift.max(1, trainer.steps / 20), resume: resume, group: group) { report in
            guard writes else { return }
            ProgressObserver.report("sae", done: report.step, of: trainer.steps, unit: "steps",
                                    status: String(format: "L0 %.1f  MSE %.4g  dead %.1f%%", report.l0, report.mse, 100 * report.deadFraction))
        }
        let evaluationRows = try ActivationStore.Reader(folder: evaluation ?? activations).all(limit: evaluation == nil ? 16_384 : 65_536)
        let metrics = try SparseAutoencoderMetrics(sae, activations: evaluationRows)
        let record = TrainRecord(configuration: sae.configuration, hookPoint: store.metadata["glassbox.hook"], source: store.metadata["glassbox.source"],
                                 steps: trainer.steps, batchSize: trainer.batchSize, l1Coefficient: trainer.l1Coefficient, learningRate: trainer.learningRate,
                                 reports: reports, metrics: metrics,
                                 evaluatedOn: evaluation ?? "the first \(evaluationRows.shape[0]) rows of the training store (not held out)",
                                 seconds: Date().timeIntervalSince(started))
        var metadata = ["glassbox.architecture": "sparse-autoencoder",
                        "glassbox.sae.configuration": String(decoding: try JSONEncoder().encode(sae.configuration), as: UTF8.self)]
        for key in ["glassbox.hook", "glassbox.source"] { metadata[key] = store.metadata[key] }
        guard writes else { return record }
        try Safetensors.write(sae.stateDict(), metadata: metadata, to: path(out, "sae.safetensors"))
        try JSONFile.write(record, to: path(out, "metrics.json"))
        return record
    }

    /// A trained autoencoder and the hook point it was trained on; also a training checkpoint
    /// (`checkpoint.safetensors`, the dictionary at its step, e.g. to look at a run that is still
    /// training; checkpoints do not record the hook point).
    public static func load(_ path: String) throws -> (sae: SparseAutoencoder, hookPoint: String?) {
        let (tensors, metadata) = try Safetensors.read(path)
        let isCheckpoint = metadata["glassbox.sae.step"] != nil
        guard metadata["glassbox.architecture"] == "sparse-autoencoder" || isCheckpoint, let configuration = metadata["glassbox.sae.configuration"] else {
            throw TorchError("\(path) is not a sparse autoencoder written by `glassbox sae train`")
        }
        let sae = try SparseAutoencoder(JSONDecoder().decode(SparseAutoencoder.Configuration.self, from: Data(configuration.utf8)))
        try sae.loadStateDict(isCheckpoint ? SparseAutoencoderTrainer.checkpointPart(tensors, prefix: "sae.") : tensors)
        sae.eval()
        return (sae, metadata["glassbox.hook"])
    }

    public struct SyntheticRecord: Codable, Sendable {
        public var features: Int, dimension: Int, density: Double
        /// Mean over the true directions of the largest cosine with a learned one.
        public var recovery: Double
        public var metrics: SparseAutoencoderMetrics
        public var reports: [SparseAutoencoderTrainer.Report]
        public var seconds: Double
    }

    /// Training settings of `sae synthetic` (inputs of norm about 1 need a larger λ than the defaults').
    public static var syntheticDefaults: SparseAutoencoderTrainer {
        var t = SparseAutoencoderTrainer()
        (t.steps, t.batchSize, t.learningRate, t.warmupSteps, t.l1Coefficient) = (3000, 1024, 3e-3, 100, 0.3)
        (t.resampleAt, t.deadWindow, t.resampleInputs, t.medianInputs) = ([1000, 2000], 500, 8192, 4096)
        return t
    }

    /// An autoencoder of `expansion` × `features` on synthetic activations with a known
    /// dictionary of `features` directions in `dimension` dimensions, each present with
    /// probability `density`; measured on fresh samples.
    public static func synthetic(features: Int, dimension: Int, density: Double, expansion: Int, trainer: SparseAutoencoderTrainer) throws -> SyntheticRecord {
        let started = Date()
        let data = try SyntheticFeatures(features: features, dimension: dimension, density: density, generator: Generator(seed: trainer.seed))
        let sae = try SparseAutoencoder(.init(inputs: dimension, features: expansion * features), generator: Generator(seed: trainer.seed &+ 1))
        let reports = try trainer.train(sae, on: data, reportEvery: Swift.max(1, trainer.steps / 20)) { report in
            ProgressObserver.report("sae", done: report.step, of: trainer.steps, unit: "steps",
                                    status: String(format: "L0 %.1f  MSE %.4g  dead %.1f%%", report.l0, report.mse, 100 * report.deadFraction))
        }
        let metrics = try SparseAutoencoderMetrics(sae, activations: data.batch(16_384, generator: Generator(seed: trainer.seed &+ 2)))
        return SyntheticRecord(features: features, dimension: dimension, density: density, recovery: try data.recovery(sae.decoderWeight.detached()),
                               metrics: metrics, reports: reports, seconds: Date().timeIntervalSince(started))
    }

    public struct Interpretability: Codable, Sendable {
        /// The layer's own neurons, and the autoencoder's features that fire on the explanation texts.
        public var neurons: NeuronInterpretability
        public var features: NeuronInterpretability
        public var liveFeatures: Int, allFeatures: Int
        public var texts: Int
    }

    /// Automated interpretability without a language model (`NeuronInterpretability`): the
    /// top-token share and the token-mean simulation score of the hook point's neurons and of the
    /// autoencoder's live features, explained on the first `texts` validation tweets and simulated
    /// on the first `texts` test tweets. Bricken et al. found features far more interpretable than
    /// neurons by their rubric.
    public static func interpret(sae: SparseAutoencoder, hookPoint: String, languageModel modelPath: String, texts: Int = 1000) throws -> Interpretability {
        let lm = try LanguageModelFile.load(modelPath)
        let corpus = try TweetCorpus.bundled(task: .threeClass)
        let explanation = try lm.tokenActivations(Array(corpus.validation.texts.prefix(texts)), at: [hookPoint])
        let heldOut = try lm.tokenActivations(Array(corpus.test.texts.prefix(texts)), at: [hookPoint])
        let (x, y) = (explanation.activations[0], heldOut.activations[0])
        guard x.shape[1] == sae.configuration.inputs else {
            throw TorchError("'\(hookPoint)' gives \(x.shape[1]) values per token; the autoencoder takes \(sae.configuration.inputs)")
        }
        let k = Swift.min(20, x.shape[0])
        let neurons = try NeuronInterpretability(explanation: (x, explanation.tokens), heldOut: (y, heldOut.tokens), vocabularySize: lm.tokens.count, topK: k)
        let fx = try noGrad { try sae.encode(x) }, fy = try noGrad { try sae.encode(y) }
        let live = try fx.gt(0).to(.int64).sum(dims: [0]).gt(0).scalars(as: Bool.self).enumerated().filter(\.element).map { Int64($0.offset) }
        guard !live.isEmpty else { throw TorchError("no feature of the autoencoder fires on the validation texts") }
        let index = try Tensor(live, shape: [live.count])
        let features = try NeuronInterpretability(explanation: (fx.indexSelect(dim: 1, index: index), explanation.tokens),
                                                  heldOut: (fy.indexSelect(dim: 1, index: index), heldOut.tokens), vocabularySize: lm.tokens.count, topK: k)
        return Interpretability(neurons: neurons, features: features, liveFeatures: live.count, allFeatures: sae.configuration.features, texts: texts)
    }

    /// Two autoencoders' features matched by their activations on the store's first `rows` rows.
    public static func matchFeatures(_ first: SparseAutoencoder, _ second: SparseAutoencoder, activations: String, rows: Int = 16_384) throws -> FeatureMatching {
        let x = try storeRows(activations, limit: rows, for: [first, second])
        return try FeatureMatching(noGrad { try first.encode(x) }, noGrad { try second.encode(x) })
    }

    /// The store's first `limit` rows, checked against the autoencoders' input width.
    static func storeRows(_ activations: String, limit: Int, for saes: [SparseAutoencoder]) throws -> Tensor {
        let x = try ActivationStore.Reader(folder: activations).all(limit: limit)
        guard saes.allSatisfy({ $0.configuration.inputs == x.shape[1] }) else {
            throw TorchError("the store's rows have \(x.shape[1]) values; the autoencoders take \(saes.map { String($0.configuration.inputs) }.joined(separator: " and "))")
        }
        return x
    }

    /// Two language models' neurons at `hookPoint` matched by their activations on the first
    /// `texts` validation tweets (the models must share a vocabulary, e.g. the same training texts).
    public static func matchNeurons(_ first: String, _ second: String, hookPoint: String, texts: Int = 1000) throws -> FeatureMatching {
        let chosen = Array(try TweetCorpus.bundled(task: .threeClass).validation.texts.prefix(texts))
        let (a, b) = (try LanguageModelFile.load(first), try LanguageModelFile.load(second))
        guard a.tokens == b.tokens else { throw TorchError("the two language models have different vocabularies; their tokens do not line up") }
        return try FeatureMatching(a.tokenActivations(chosen, at: [hookPoint]).activations[0], b.tokenActivations(chosen, at: [hookPoint]).activations[0])
    }

    public struct Steering: Codable, Sendable {
        public struct Prediction: Codable, Sendable {
            public var token: String
            public var before: Double, after: Double
        }
        /// The feature's activation at the text's last token before clamping.
        public var original: Double
        /// The most likely next tokens before and after, with both probabilities.
        public var predictions: [Prediction]
        /// KL(before ‖ after) of the next-token distributions.
        public var divergence: Double
    }

    /// Clamps feature `feature` to `value` at every token of `text` — h′ = h + (value − fᵢ(h))·dᵢ,
    /// dᵢ its decoder direction, so the autoencoder's reconstruction error stays in — and compares
    /// the next-token distribution after the last token with the unchanged one.
    public static func steer(sae: SparseAutoencoder, hookPoint: String, languageModel modelPath: String, feature: Int, value: Double,
                             text: String, top: Int = 10) throws -> Steering {
        guard (0..<sae.configuration.features).contains(feature) else {
            throw TorchError("feature \(feature) does not exist: the autoencoder has \(sae.configuration.features)")
        }
        let lm = try LanguageModelFile.load(modelPath)
        let tokens = Array(lm.encode(text).prefix(lm.model.configuration.maxLength))
        guard !tokens.isEmpty else { throw TorchError("the text has no tokens in the model's vocabulary") }
        let ids = try Tensor(tokens.map { Int64($0) }, shape: [1, tokens.count])
        let direction = try sae.decoderWeight.detached()[feature]
        var original = 0.0
        func next(_ clamp: Bool) throws -> Tensor {
            let hook: ActivationHook = { activation, _ in
                let flat = try activation.reshaped([-1, activation.shape.last!])
                let current = try sae.encode(flat).select(dim: 1, index: feature)
                original = try current[tokens.count - 1].item()
                guard clamp else { return nil }
                return try (flat + (value - current).unsqueezed(dim: 1) * direction.unsqueezed(dim: 0)).reshaped(activation.shape)
            }
            let logits = try noGrad { try lm.model.withHooks([(hookPoint, hook)]) { try lm.model(ids) } }
            return try logits[0][tokens.count - 1].softmax(dim: 0).to(.float64)
        }
        let before = try next(false), after = try next(true)
        let p = try before.scalars(as: Double.self), q = try after.scalars(as: Double.self)
        let ranked = Set(p.indices.sorted { p[$0] > p[$1] }.prefix(top) + q.indices.sorted { q[$0] > q[$1] }.prefix(top))
        let predictions = ranked.sorted { q[$0] > q[$1] }.map { Steering.Prediction(token: lm.tokens[$0], before: p[$0], after: q[$0]) }
        // KL ≥ 0; float32 probabilities that sum to 1 only up to rounding can leave a −1e-9.
        let divergence = Swift.max(0, zip(p, q).map { $0 > 0 ? $0 * Foundation.log($0 / Swift.max($1, 1e-300)) : 0 }.reduce(0, +))
        return Steering(original: original, predictions: predictions, divergence: divergence)
    }

    public struct SentenceSplice: Codable, Sendable {
        /// Mean cosine similarity between each text's sentence embedding as it is and with the
        /// reconstruction spliced in.
        public var meanCosine: Double
        /// The probe's test accuracy as it is and with the reconstruction spliced in.
        public var cleanAccuracy: Double, splicedAccuracy: Double
        public var texts: Int
    }

    /// MiniLM has no language-model head, so the loss recovered does not apply: instead, the
    /// reconstruction spliced in at the hook point and its effect on the sentence embeddings and
    /// on the sentiment probe, on the first `texts` test texts of the probe's task.
    public static func sentenceSplice(sae: SparseAutoencoder, hookPoint: String, probe probePath: String, minilm: String?, texts: Int = 1000) throws -> SentenceSplice {
        let file = try TextModelFile.load(probePath)
        let (probe, tokenizer) = try file.probe(minilm: minilm)
        let test = try TweetCorpus.bundled(task: file.task).test
        let count = Swift.min(texts, test.count)
        let sequences = SentenceEmbedding.sequences(Array(test.texts.prefix(count)), tokenizer: tokenizer, limit: probe.encoder.configuration.maxPositions)
        let splice: ActivationHook = { activation, _ in try sae(activation.reshaped([-1, activation.shape.last!])).reshaped(activation.shape) }
        var cosines = 0.0, clean = 0, spliced = 0
        for start in stride(from: 0, to: count, by: 64) {
            let ids = try TokenBatch(Array(sequences[start..<Swift.min(start + 64, count)]), padding: tokenizer.padding).ids
            let labels = Array(test.labels[start..<Swift.min(start + 64, count)])
            let (e, p) = try noGrad { (try probe.encoder.sentenceEmbeddings(ids), try probe(ids).argmax(dim: 1).scalars(as: Int64.self)) }
            let (e2, p2) = try noGrad { try probe.withHooks([(hookPoint, splice)]) { (try probe.encoder.sentenceEmbeddings(ids), try probe(ids).argmax(dim: 1).scalars(as: Int64.self)) } }
            cosines += try (e * e2).sum().item()  // both unit length
            clean += zip(p, labels).filter { Int($0) == $1 }.count
            spliced += zip(p2, labels).filter { Int($0) == $1 }.count
        }
        return SentenceSplice(meanCosine: cosines / Double(count), cleanAccuracy: Double(clean) / Double(count),
                              splicedAccuracy: Double(spliced) / Double(count), texts: count)
    }

    public struct LossRecovered: Codable, Sendable {
        public var clean: Double, spliced: Double, zeroAblated: Double
        /// (zero-ablated − spliced) / (zero-ablated − clean); nil when zeroing the activation does
        /// not raise the loss (nothing to recover).
        public var fraction: Double?
        public var texts: Int
    }

    /// Next-token cross-entropy of the language model on the first `texts` validation tweets as
    /// it is, with the autoencoder's reconstruction spliced in at its hook point, and with that
    /// activation zeroed.
    public static func lossRecovered(sae: SparseAutoencoder, hookPoint: String, languageModel modelPath: String, texts: Int = 1000) throws -> LossRecovered {
        let lm = try LanguageModelFile.load(modelPath)
        let chosen = Array(try TweetCorpus.bundled(task: .threeClass).validation.texts.prefix(texts))
        let ids = try LanguageModelRun.sequences(chosen, encode: lm.encode, maxLength: lm.model.configuration.maxLength + 1)
        let (inputs, targets) = try LanguageModelRun.split(ids)
        func loss(_ hook: ActivationHook?) throws -> Double {
            try lm.model.withHooks(hook.map { [(hookPoint, $0)] } ?? []) { try LanguageModelRun.meanLoss(lm.model, inputs: inputs, targets: targets) }
        }
        let clean = try loss(nil)
        let spliced = try loss { activation, _ in
            try sae(activation.reshaped([-1, activation.shape.last!])).reshaped(activation.shape)
        }
        let zero = try loss { activation, _ in try activation.zerosLike() }
        return LossRecovered(clean: clean, spliced: spliced, zeroAblated: zero, fraction: zero - clean > 1e-6 * Swift.abs(clean) ? (zero - spliced) / (zero - clean) : nil, texts: chosen.count)
    }
}
