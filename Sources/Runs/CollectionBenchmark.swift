import Datasets
import DictionaryLearning
import Foundation
import NN
import TextModels
import Torch

/// `glassbox bench sae`'s collection row: activations of a one-layer tweet language model's MLP
/// (`blocks.0.hook_mlp_post`, 512 values a token) at every real token of the bundled train
/// split's first texts, written to an activation store, against a plain PyTorch loop doing the
/// same (bench/collect_bench.py: the same weights and token ids, batches of 256 trimmed to their
/// longest text, the forward pass stopped after the MLP as TransformerLens's `stop_at_layer`
/// does, real-token rows selected, 65,536-row safetensors shards written). The model has
/// `glassbox lm train`'s default shape and random weights: the speed does not depend on them.
/// Both sides write their stores to memory (/dev/shm when it exists): on disk, how much
/// written-back data the kernel is still holding from earlier runs decides the times (they
/// varied 4× for the same shard here), not the code.
public struct CollectionBenchmark {
    public var texts = 8000, rowsPerShard = 65_536
    public let hookPoint = "blocks.0.hook_mlp_post"
    public var repeats: Int
    public var seed: UInt64
    public var peer: (python: String, script: String)?

    public init(repeats: Int, seed: UInt64, peer: (python: String, script: String)?) {
        (self.repeats, self.seed, self.peer) = (repeats, seed, peer)
    }

    public struct Result: Sendable {
        public var tokens: Int
        public var tokensPerSecond: Double
        public var pytorchTokensPerSecond: Double?
        public var peerNote: String
    }

    public func run() throws -> Result {
        let options = LanguageModelOptions()
        let corpus = try TweetCorpus.bundled(task: .threeClass)
        let vocabulary = WordVocabulary(building: corpus.train.texts, minimumCount: options.minimumCount)
        var configuration = TransformerLanguageModel.Configuration(vocabularySize: vocabulary.count)
        configuration.maxLength = options.maxLength
        let model = try TransformerLanguageModel(configuration, generator: Generator(seed: seed))
        model.eval()
        let lm = LanguageModelFile(model: model, tokens: vocabulary.words, encode: vocabulary.encode)
        let ids = try LanguageModelRun.sequences(Array(corpus.train.texts.prefix(texts)), encode: vocabulary.encode, maxLength: options.maxLength)
        let tokens = try ids.ne(0).to(.int64).sum().itemInt()
        let memory = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
        let folder = memory.appendingPathComponent("glassbox-collect-bench-\(ProcessInfo.processInfo.processIdentifier)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        ProgressObserver.note("collecting \(tokens) tokens' activations at \(hookPoint)")
        // Each run's writer replaces the previous run's shards (as bench/collect_bench.py clears its folder).
        let (median, rows) = try medianTime(repeats: repeats) {
            let writer = try ActivationStore.Writer(folder: folder, rowsPerShard: rowsPerShard)
            try lm.forEachBatch(ofIDs: ids, at: [hookPoint]) { _, _, activations, _ in try writer.append(activations[0]) }
            try writer.finish()
            return writer.rows
        }
        guard rows == tokens else { throw TorchError("collected \(rows) rows for \(tokens) tokens") }
        var result = Result(tokens: tokens, tokensPerSecond: Double(tokens) / median, peerNote: "PyTorch skipped (--no-peer).")
        guard let peer else { return result }
        let settings: [String: Any] = ["batch_size": 256, "rows_per_shard": rowsPerShard, "repeats": repeats, "threads": Torch.threads,
                                       "heads": configuration.heads, "store": folder + "-pytorch"]
        do {
            ProgressObserver.note("PyTorch: the same collection in a plain loop")
            let json = try AttributionBenchmark.runPeer(peer, named: "collect", settings: settings, prepare: { folder in
                try Safetensors.write(model.stateDict().merging(["ids": ids]) { $1 }, to: "\(folder)/inputs.safetensors")
            }, read: { try AttributionBenchmark.peerResults($0, "collect_results.json") })
            result.pytorchTokensPerSecond = (json?["seconds"] as? Double).map { Double(tokens) / $0 }
            let rows = json?["rows"] as? Int ?? -1
            result.peerNote = "PyTorch \(json?["torch"] as? String ?? "?") collected \(rows) rows (Glassbox \(tokens)) from the same weights and token ids with the same threads."
        } catch let error as TorchError {
            result.peerNote = "PyTorch did not run: \(error.message)"
        }
        return result
    }
}
