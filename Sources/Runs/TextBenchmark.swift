import Datasets
import Foundation
import NN
import TextModels
import Torch

/// `glassbox bench text`: MiniLM sentence embeddings per second against transformers, and
/// BiLSTM-attention training tokens per second against a plain PyTorch loop, on the same texts,
/// batches and thread count (bench/text_bench.py runs the PyTorch side).
public struct TextBenchmark {
    public var repeats: Int
    public var minilm: String?
    public var peer: (python: String, script: String)?
    public var embeddingTexts = 512, embeddingBatch = 64, trainingTexts = 2000, trainingBatch = 64

    public init(repeats: Int, minilm: String?, peer: (python: String, script: String)?) {
        (self.repeats, self.minilm, self.peer) = (repeats, minilm, peer)
    }

    public struct Row: Sendable {
        public var task: String
        public var unit: String
        public var glassbox: Double
        public var pytorch: Double?
    }

    public struct Result: Sendable {
        public var rows: [Row]
        public var peerNote: String
        public var machine: MachineDescription
    }

    public func run() throws -> Result {
        var rows: [Row] = []
        let corpus = try TweetCorpus.bundled(task: .threeClass)
        let all = corpus.train.texts + corpus.validation.texts + corpus.test.texts
        var minilmFolder: String?
        if let path = try? MiniLMFiles.folder(explicit: minilm) {
            minilmFolder = path
            let (model, tokenizer) = try MiniLMFiles.load(path)
            let texts = Array(all.prefix(embeddingTexts))
            let seconds = try medianTime(repeats: repeats) { try SentenceEmbedding.embed(texts, model: model, tokenizer: tokenizer, batchSize: embeddingBatch) }.seconds
            rows.append(Row(task: "MiniLM sentence embeddings (\(texts.count) tweets, batch \(embeddingBatch))", unit: "texts/s",
                            glassbox: Double(texts.count) / seconds))
            ProgressObserver.report("text bench", done: 1, of: 2, unit: "tasks")
        }
        // BiLSTM training: the same ids, labels and batches on both sides.
        let binary = try TweetCorpus.bundled(task: .binary).prefix(trainingTexts)
        let vocabulary = WordVocabulary(building: binary.train.texts, minimumCount: 2)
        let ids = try TextModelFile.ids(binary.train.texts, vocabulary: vocabulary, maxLength: 64)
        let labels = try binary.train.labelTensor()
        let order = try Tensor.randperm(ids.shape[0], generator: Generator(seed: 1)).scalars(as: Int64.self)
        let batches = stride(from: 0, to: order.count, by: trainingBatch).map { Array(order[$0..<Swift.min($0 + trainingBatch, order.count)]) }
        let tokens = try ids.ne(0).to(.float64).sum().item()
        let configuration = BiLSTMAttentionClassifier.Configuration(vocabularySize: vocabulary.count, classes: 2)
        let seconds = try medianTime(repeats: repeats) {
            let model = try BiLSTMAttentionClassifier(configuration, generator: Generator(seed: 0))
            model.train()
            let optimizer = Adam(model.parameters, learningRate: 2e-3)
            for batch in batches {
                let index = try Tensor(batch, shape: [batch.count])
                let loss = try Functional.crossEntropy(model(ids.indexSelect(dim: 0, index: index)), target: labels.indexSelect(dim: 0, index: index))
                try model.zeroGrad()
                try loss.backward()
                try optimizer.step()
            }
        }.seconds
        rows.append(Row(task: "BiLSTM-attention training (\(ids.shape[0]) tweets, batch \(trainingBatch), 1 epoch)", unit: "tokens/s", glassbox: tokens / seconds))
        ProgressObserver.report("text bench", done: 2, of: 2, unit: "tasks")

        var peerNote = "PyTorch skipped (--no-peer)."
        if let peer {
            do {
                let padded = batches.flatMap { $0 + [Int64](repeating: -1, count: trainingBatch - $0.count) }
                let settings: [String: Any] = [
                    "repeats": repeats, "threads": Torch.threads, "minilm": minilmFolder ?? NSNull(), "rows": Array(0..<embeddingTexts),
                    "embedding_batch": embeddingBatch,
                    "bilstm": ["vocabulary": vocabulary.count, "embedding": configuration.embeddingSize, "hidden": configuration.hiddenSize,
                               "attention": configuration.attentionSize, "classes": 2],
                ]
                let json = try AttributionBenchmark.runPeer(peer, named: "text", settings: settings, prepare: { folder in
                    try Safetensors.write(["ids": ids, "labels": labels, "batches": Tensor(padded, shape: [batches.count, trainingBatch])],
                                          to: "\(folder)/bilstm.safetensors")
                }, read: { try AttributionBenchmark.peerResults($0, "text_results.json") })
                for index in rows.indices {
                    if rows[index].unit == "texts/s", let s = json?["embedding_seconds"] as? Double { rows[index].pytorch = Double(embeddingTexts) / s }
                    if rows[index].unit == "tokens/s", let s = json?["bilstm_seconds"] as? Double { rows[index].pytorch = tokens / s }
                }
                peerNote = "PyTorch \(json?["torch"] as? String ?? "?")\((json?["transformers"] as? String).map { ", transformers \($0)" } ?? "") in the same run, same texts, batches and threads."
            } catch let error as TorchError {
                peerNote = "PyTorch did not run: \(error.message)"
            }
        }
        if minilmFolder == nil { peerNote += " MiniLM row skipped: no model files (pass --minilm or set GLASSBOX_MINILM)." }
        return Result(rows: rows, peerNote: peerNote, machine: MachineDescription.current)
    }
}
