import AttentionStudies
import Datasets
import Foundation
import NN
import TextModels
import Torch

/// Wiegreffe & Pinter (2019, §6): a model-consistent adversary. A new BiLSTM with attention is
/// trained to give the base model's predictions (total variation distance to its output
/// distribution) while its attention differs from the base model's (Jensen–Shannon divergence),
/// loss = TVD − λ·JSD, for several λ. The curve of test TVD against JSD says how much the
/// predictions must give way for the attention to move: if attention can move far at little
/// cost, it did not pin down the prediction.
public enum ConsistentAdversaryStudy {
    public struct Point: Codable, Sendable {
        public var lambda: Double
        /// Means over the test texts.
        public var outputChange: Double, attentionDivergence: Double
        /// Share of test texts whose predicted class matches the base model's.
        public var agreement: Double
        public var seconds: Double
    }

    public static func run(base: BiLSTMAttentionClassifier, file: TextModelFile, lambdas: [Double], epochs: Int, limit: Int?,
                           seed: UInt64) throws -> [Point] {
        let corpus = try TweetCorpus.bundled(task: file.task).prefix(limit)
        let (trainIds, testIds) = (try file.ids(corpus.train.texts), try file.ids(corpus.test.texts))
        return try lambdas.map { lambda in
            let started = Date()
            ProgressObserver.note(String(format: "training the adversary at λ = %g", lambda))
            let adversary = try BiLSTMAttentionClassifier(base.configuration, generator: Generator(seed: seed))
            // The text models' defaults: Adam 2e-3, length buckets of 64.
            let trainer = try TextRun.lengthBucketedTrainer(adversary, ids: trainIds, options: TextTrainingOptions(), seed: seed)
            trainer.objective = { ids, _, _ in
                let target = try noGrad { try base.run(ids) }
                let own = try adversary.run(ids)
                let change = try Divergence.totalVariation(own.logits.softmax(dim: 1), target.logits.softmax(dim: 1)).mean()
                let divergence = try Divergence.jensenShannon(own.weights, target.weights).mean()
                return (try change - divergence * lambda, own.logits)
            }
            try trainer.fit(inputs: trainIds, targets: corpus.train.labelTensor(), epochs: epochs)
            adversary.eval()
            var change = 0.0, divergence = 0.0, same = 0.0
            try noGrad {
                for start in stride(from: 0, to: testIds.shape[0], by: 512) {
                    let ids = try testIds.slice(dim: 0, start: start, end: min(testIds.shape[0], start + 512))
                    let (a, b) = (try adversary.run(ids), try base.run(ids))
                    let (p, q) = (try a.logits.softmax(dim: 1), try b.logits.softmax(dim: 1))
                    change += try Divergence.totalVariation(p, q).to(.float64).sum().item()
                    divergence += try Divergence.jensenShannon(a.weights, b.weights).to(.float64).sum().item()
                    same += try p.argmax(dim: 1).eq(q.argmax(dim: 1)).to(.float64).sum().item()
                }
            }
            let n = Double(testIds.shape[0])
            return Point(lambda: lambda, outputChange: change / n, attentionDivergence: divergence / n, agreement: same / n,
                         seconds: Date().timeIntervalSince(started))
        }
    }
}
