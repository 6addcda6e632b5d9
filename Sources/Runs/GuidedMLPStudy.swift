import Datasets
import Foundation
import NN
import TextModels
import Torch

/// Wiegreffe & Pinter (2019, §5): context-free token MLPs (`TokenMLPClassifier`) trained on the
/// BiLSTM's task with uniform weights, their own learned attention, or the BiLSTM's attention
/// imposed and frozen (on training and test texts alike); test scores of each. Imposed attention
/// beating uniform means the BiLSTM's weights single out tokens that matter on their own.
public enum GuidedMLPStudy {
    public struct Result: Codable, Sendable {
        public var attention: TokenMLPClassifier.Attention
        public var test: TextScores
        public var seconds: Double
    }

    public static func run(_ bilstm: BiLSTMAttentionClassifier, file: TextModelFile, epochs: Int, limit: Int?, seed: UInt64) throws -> [Result] {
        let corpus = try TweetCorpus.bundled(task: file.task).prefix(limit)
        let (trainIds, testIds) = (try file.ids(corpus.train.texts), try file.ids(corpus.test.texts))
        let labels = try corpus.train.labelTensor()
        func attention(_ ids: Tensor) throws -> Tensor {
            try noGrad {
                try Tensor.cat(stride(from: 0, to: ids.shape[0], by: 512).map { start in
                    try bilstm.attentionWeights(ids.slice(dim: 0, start: start, end: min(ids.shape[0], start + 512)))
                })
            }
        }
        let (imposedTrain, imposedTest) = (try attention(trainIds), try attention(testIds))
        let c = bilstm.configuration
        return try TokenMLPClassifier.Attention.allCases.map { kind in
            let started = Date()
            ProgressObserver.note("training the token MLP with \(kind.rawValue) attention")
            let mlp = try TokenMLPClassifier(vocabularySize: c.vocabularySize, classes: c.classes, attention: kind, generator: Generator(seed: seed))
            let optimizer = Adam(mlp.parameters, learningRate: 2e-3)
            mlp.train()
            for epoch in 0..<epochs {
                let order = try Tensor.randperm(trainIds.shape[0], generator: Generator(seed: seed &+ UInt64(epoch) &+ 1))
                for start in stride(from: 0, to: trainIds.shape[0], by: 64) {
                    let rows = try order.slice(dim: 0, start: start, end: min(trainIds.shape[0], start + 64))
                    let ids = try TokenBatch.trimmed(trainIds.indexSelect(dim: 0, index: rows))
                    let imposed = try imposedTrain.indexSelect(dim: 0, index: rows).slice(dim: 1, start: 0, end: ids.shape[1])
                    try mlp.zeroGrad()
                    let loss = try withGrad { try Functional.crossEntropy(mlp.run(ids, imposed: imposed), target: labels.indexSelect(dim: 0, index: rows)) }
                    try loss.backward()
                    try optimizer.step()
                }
            }
            mlp.eval()
            let predictions = try noGrad {
                try stride(from: 0, to: testIds.shape[0], by: 512).flatMap { start -> [Int] in
                    let end = min(testIds.shape[0], start + 512)
                    let logits = try mlp.run(testIds.slice(dim: 0, start: start, end: end), imposed: imposedTest.slice(dim: 0, start: start, end: end))
                    return try logits.argmax(dim: 1).scalars(as: Int64.self).map(Int.init)
                }
            }
            return Result(attention: kind, test: TextScores(predictions: predictions, labels: corpus.test.labels, classes: c.classes),
                          seconds: Date().timeIntervalSince(started))
        }
    }
}
