import Foundation
import TextModels
import Torch

/// Jain & Wallace (2019), "Attention is not Explanation", §4.1: does attention rank tokens the
/// way gradients and leave-one-out do? Kendall τ per text between the attention weights and each
/// measure, and whether it is significant (p < 0.05).
public enum AttentionAgreement {
    public struct Text: Codable, Sendable {
        public var length: Int
        public var predicted: Int
        public var maxAttention: Double
        /// Attention vs gradient importance; nil when a list is constant (a one-token text).
        public var gradient: KendallTau?
        public var leaveOneOut: KendallTau?
        /// Gradient vs leave-one-out: how much the two other measures agree with each other.
        public var gradientVsLeaveOneOut: KendallTau?
    }

    public struct Summary: Codable, Sendable {
        public var texts: Int
        public var meanTau: Double
        public var standardDeviation: Double
        public var significantFraction: Double
    }

    /// One record per text; texts are run in batches of `batchSize`.
    public static func measure(_ model: BiLSTMAttentionClassifier, ids: Tensor, batchSize: Int = 128,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> [Text] {
        var texts: [Text] = []
        for start in stride(from: 0, to: ids.shape[0], by: batchSize) {
            let batch = try ids.slice(dim: 0, start: start, end: Swift.min(ids.shape[0], start + batchSize))
            for item in try TokenImportance.measure(model, ids: batch) {
                texts.append(Text(length: item.attention.count, predicted: item.predicted, maxAttention: item.attention.max() ?? 0,
                                  gradient: KendallTau(item.attention, item.gradient), leaveOneOut: KendallTau(item.attention, item.leaveOneOut),
                                  gradientVsLeaveOneOut: KendallTau(item.gradient, item.leaveOneOut)))
            }
            progress(texts.count, ids.shape[0])
        }
        return texts
    }

    /// Mean and standard deviation of τ and the fraction with p < 0.05, over the texts where τ is defined.
    public static func summary(_ values: [KendallTau?]) -> Summary {
        let defined = values.compactMap { $0 }
        let count = Double(Swift.max(defined.count, 1))
        let mean = defined.map(\.tau).reduce(0, +) / count
        let variance = defined.map { ($0.tau - mean) * ($0.tau - mean) }.reduce(0, +) / count
        return Summary(texts: defined.count, meanTau: mean, standardDeviation: variance.squareRoot(),
                       significantFraction: Double(defined.filter { $0.pValue < 0.05 }.count) / count)
    }
}
